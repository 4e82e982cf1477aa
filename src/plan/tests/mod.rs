//! Unit tests of planning, against the catalogue.

mod filters;
mod shapes;

use super::*;
use crate::catalog::object;
use crate::request::*;

/// `range_param` panics on a catalog range filter it does not know:
/// every one in the catalog has both its parameter names.
#[test]
fn every_catalog_range_filter_has_its_parameter_names() {
    for object in crate::catalog::OBJECTS {
        for endpoint in object.endpoints {
            for f in endpoint.filters.iter().filter(|f| f.how == Match::Range) {
                assert_eq!(range_param(f.param, "_after"), format!("{}_after", f.param));
                assert_eq!(
                    range_param(f.param, "_before"),
                    format!("{}_before", f.param)
                );
            }
        }
    }
}

pub(super) fn cond(column: &str, op: Op, value: Operand) -> Condition {
    Condition {
        column: column.into(),
        op,
        value,
    }
}
pub(super) fn text(s: &str) -> Operand {
    Operand::Text(s.into())
}
pub(super) fn plan_of(obj: &str, conditions: Vec<Condition>) -> ScanPlan {
    plan(
        object(obj).unwrap(),
        &Request {
            conditions,
            ..Request::default()
        },
    )
}
