//! The filters BI tools write, narrowed by Clerk and exact: timestamp and
//! date bounds against `timestamptz` columns, in any session time zone,
//! across DST changes. The oracle is the same query with pushdown off.

mod filters;
mod joins;

use crate::sql_tests::support::*;
use pgrx::prelude::*;

/// Conditions as Metabase, Superset and Grafana write them; the
/// literals sit on users' creation instants (hourly, at :26:40 UTC)
/// and on the 2026 DST changes.
const CONDITIONS: &[&str] = &[
    "created_at >= timestamp '2026-03-08 06:26:40'",
    "created_at > timestamp '2026-03-08 06:26:40'",
    "created_at <= timestamp '2026-03-08 01:26:40' and created_at > timestamp '2026-03-07 20:00:00'",
    "created_at >= timestamp '2026-03-08 02:30:00' and created_at < timestamp '2026-03-08 04:00:00'",
    "created_at >= date '2026-03-08' and created_at < date '2026-03-09'",
    "created_at >= date '2026-04-05' and created_at < date '2026-04-06'",
    "created_at < date '2026-01-20'",
    "created_at >= '2026-05-01'::date",
    "created_at >= CAST((now() + interval '-9000 day') AS date) and created_at < date '2026-01-10'",
    "last_sign_in_at >= timestamp '2026-05-01 00:00:00'",
    // Metabase's "on day" and "before/after", Superset's and Grafana's
    // time grains.
    "created_at::date = date '2026-03-08'",
    "CAST(created_at AS date) >= date '2026-05-20'",
    "created_at::date < date '2026-01-12'",
    "created_at::date > date '2026-05-26'",
    "date '2026-01-10' >= created_at::date",
    "created_at::date >= CAST((now() + interval '-9000 day') AS date) and created_at::date < date '2026-01-10'",
    "date_trunc('day', created_at) >= date '2026-05-25'",
    "date_trunc('DAY', created_at) = timestamp '2026-03-08 00:00:00'",
    "date_trunc('week', created_at) < timestamp '2026-01-19 00:00'",
    "date_trunc('hour', created_at) <= timestamptz '2026-01-09 12:00:00+00'",
    "date_trunc('month', created_at) = date_trunc('month', timestamptz '2026-04-15 12:00:00+00')",
    // Grafana's Unix-time filters.
    "extract(epoch from created_at) >= 1779000000",
    "extract(epoch from created_at) < 1767300000.5 and extract(epoch from created_at) > 1767000000",
    "date_part('epoch', created_at) between 1772323200 and 1772409600",
    "extract(epoch from created_at) = 1772350000",
];
/// Havana's DST starts at midnight (the day begins at 01:00); Lord
/// Howe's moves by 30 minutes.
const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "America/Havana",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];
