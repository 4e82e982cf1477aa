use super::*;
use serde_json::json;

fn row(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn every_write_names_an_object_and_its_columns() {
    for w in WRITES {
        let object = crate::catalog::object(w.object).expect(w.object);
        for column in w
            .key
            .iter()
            .chain(w.insertable_columns().iter())
            .chain(w.updatable_columns().iter())
        {
            assert!(object.column(column).is_some(), "{}.{column}", w.object);
        }
    }
}

#[test]
fn metadata_patch_removes_and_merges() {
    let old = json!({"plan": "free", "seats": 3, "flags": {"a": 1, "b": 2}});
    let new = json!({"plan": "pro", "flags": {"a": 1}});
    assert_eq!(
        merge_patch(&old, &new),
        json!({"plan": "pro", "seats": null, "flags": {"b": null}})
    );
    assert_eq!(
        merge_patch(&old, &Value::Null),
        json!({"plan": null, "seats": null, "flags": null})
    );
}

#[test]
fn a_user_update_becomes_only_the_requests_it_needs() {
    let users = spec("users").unwrap();
    let old = row(
        json!({"id": "user_1", "first_name": "A", "banned": false, "public_metadata": {"x": 1}}),
    );
    let mut new = old.clone();
    new.insert("first_name".into(), json!("B"));
    new.insert("banned".into(), json!(true));
    let requests = users
        .update_requests(&old, &new, &["first_name", "banned", "public_metadata"])
        .unwrap();
    assert_eq!(
        requests,
        vec![
            WriteRequest {
                method: Method::Patch,
                path: vec!["users".into(), "user_1".into()],
                body: Some(json!({"first_name": "B"})),
            },
            WriteRequest {
                method: Method::Post,
                path: vec!["users".into(), "user_1".into(), "ban".into()],
                body: None,
            },
        ]
    );
    assert!(users
        .update_requests(&old, &old, &["first_name"])
        .unwrap()
        .is_empty());
    let err = users.check_update(&["email"]).unwrap_err();
    assert!(err.hint().contains("first_name"), "{}", err.hint());
}

#[test]
fn inserts_check_columns_and_bulk_splits_by_path_and_size() {
    let users = spec("users").unwrap();
    let r = users
        .insert_request(&row(
            json!({"email": "a@b.c", "attrs": {"skip_password_requirement": true}}),
        ))
        .unwrap();
    assert_eq!(
        r.body,
        Some(json!({"email_address": ["a@b.c"], "skip_password_requirement": true}))
    );
    assert!(users.insert_request(&row(json!({"id": "user_x"}))).is_err());
    let inv = spec("organization_invitations").unwrap();
    let rows: Vec<_> = (0..25)
        .map(|i| row(json!({"organization_id": if i < 12 { "org_a" } else { "org_b" }, "email_address": format!("{i}@x"), "role": "org:member"})))
        .collect();
    let sizes: Vec<usize> = inv
        .bulk_requests(&rows)
        .unwrap()
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(sizes, vec![10, 2, 10, 3]);
    assert!(matches!(
        inv.insert_request(&row(json!({"email_address": "a@x", "role": "org:member"}))),
        Err(WriteError::Missing {
            column: "organization_id",
            ..
        })
    ));
}

#[test]
fn explain_names_the_endpoints() {
    let users = spec("users").unwrap();
    assert_eq!(
        users.describe_update(&["first_name", "banned", "public_metadata"]),
        [
            "PATCH /users/{id} (first_name)",
            "PATCH /users/{id}/metadata (public_metadata)",
            "POST /users/{id}/ban or /users/{id}/unban (banned)",
        ]
    );
    assert_eq!(
        spec("waitlist_entries").unwrap().describe_insert(),
        [
            "POST /waitlist_entries (a row each)",
            "POST /waitlist_entries/bulk (50 rows each, when there is no RETURNING)",
        ]
    );
    assert_eq!(
        spec("organization_memberships").unwrap().describe_delete(),
        ["DELETE /organizations/{organization_id}/memberships/{user_id}"]
    );
}

#[test]
fn statuses_map_to_actions_and_deletes_are_refused_where_clerk_has_none() {
    let w = spec("waitlist_entries").unwrap();
    let old = row(json!({"id": "wle_1", "status": "pending"}));
    let new = row(json!({"id": "wle_1", "status": "completed"}));
    assert!(matches!(
        w.update_requests(&old, &new, &["status"]),
        Err(WriteError::Value { .. })
    ));
    let inv = spec("invitations").unwrap();
    assert!(inv.check_delete().unwrap_err().hint().contains("revoked"));
}
