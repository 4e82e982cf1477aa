//! What clerk_fdw may write to Clerk, per object: which requests an
//! INSERT, UPDATE or DELETE of one row becomes, built from the row's
//! columns. Pure Rust: a row is a JSON object keyed by column name (the
//! names of [`crate::catalog`]), with `null` for SQL NULL.
//!
//! Only what Clerk's Backend API offers is here; anything else is an error
//! that says what can be written instead.

use crate::catalog::Method;
use serde_json::{Map, Value};

/// A segment of an endpoint's path: literal, or a column's value.
#[derive(Debug, Clone, Copy)]
pub enum Seg {
    Lit(&'static str),
    Col(&'static str),
}

/// A column sent as a body field.
#[derive(Debug)]
pub struct Field {
    pub column: &'static str,
    pub field: &'static str,
    /// Clerk takes a list (`email_address: ["a@b.c"]` on `POST /users`).
    pub as_list: bool,
}

#[derive(Debug)]
pub struct Insert {
    pub path: &'static [Seg],
    pub fields: &'static [Field],
    /// Columns without which Clerk refuses the row.
    pub required: &'static [&'static str],
    /// The endpoint taking many rows at once, and how many at most.
    pub bulk: Option<(&'static [Seg], usize)>,
}

/// How a changed column reaches Clerk.
#[derive(Debug)]
pub enum Change {
    /// `PATCH path` with the changed fields.
    Patch {
        path: &'static [Seg],
        fields: &'static [Field],
    },
    /// `PATCH path`, which Clerk deep-merges into the metadata: clerk_fdw
    /// sends what differs, with `null` for a key to remove, so the row ends
    /// as the UPDATE computed it while keys it did not touch are left to
    /// whoever changed them meanwhile.
    Merge {
        path: &'static [Seg],
        fields: &'static [Field],
    },
    /// A boolean set by one `POST` each way (`banned`: ban, unban).
    Toggle {
        column: &'static str,
        on: &'static [Seg],
        off: &'static [Seg],
    },
    /// A status set by the `POST` its new value names (`status =
    /// 'revoked'`: revoke).
    Action {
        column: &'static str,
        actions: &'static [(&'static str, &'static [Seg])],
    },
}

#[derive(Debug)]
pub struct WriteSpec {
    pub object: &'static str,
    /// The columns that name a row in the endpoints' paths.
    pub key: &'static [&'static str],
    pub insert: Option<Insert>,
    pub changes: &'static [Change],
    pub delete: Option<&'static [Seg]>,
}

/// One request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub method: Method,
    pub path: Vec<String>,
    pub body: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    #[error("Clerk's API cannot {action} {object}")]
    Unsupported {
        object: &'static str,
        action: &'static str,
        hint: String,
    },
    #[error("column {column} of {object} cannot be {verb} through Clerk's API")]
    Column {
        object: &'static str,
        column: String,
        verb: &'static str,
        allowed: Vec<&'static str>,
    },
    #[error("{object} needs a value for column {column}")]
    Missing {
        object: &'static str,
        column: &'static str,
    },
    #[error("{object}.{column} cannot be set to {value}")]
    Value {
        object: &'static str,
        column: &'static str,
        value: String,
        accepted: String,
    },
    #[error("{object}.attrs of an INSERT must be a JSON object of request fields, not {got}")]
    Attrs { object: &'static str, got: String },
}

impl WriteError {
    /// What to do instead, for the error's hint.
    pub fn hint(&self) -> String {
        match self {
            WriteError::Unsupported { hint, .. } => hint.clone(),
            WriteError::Column { verb, allowed, .. } => {
                if allowed.is_empty() {
                    format!("No column can be {verb}.")
                } else {
                    format!("The columns that can be {verb}: {}.", allowed.join(", "))
                }
            }
            WriteError::Missing { .. } => "Give the column a value in the INSERT.".into(),
            WriteError::Value { accepted, .. } => format!("Accepted: {accepted}."),
            WriteError::Attrs { .. } => {
                "attrs of an INSERT carries extra request fields, e.g. '{\"notify\": false}'."
                    .into()
            }
        }
    }
}

use Seg::{Col, Lit};

const fn field(column: &'static str, field: &'static str) -> Field {
    Field {
        column,
        field,
        as_list: false,
    }
}

const fn same(column: &'static str) -> Field {
    field(column, column)
}

pub const WRITES: &[WriteSpec] = &[
    WriteSpec {
        object: "users",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("users")],
            fields: &[
                same("external_id"),
                same("first_name"),
                same("last_name"),
                same("username"),
                Field {
                    column: "email",
                    field: "email_address",
                    as_list: true,
                },
                Field {
                    column: "phone_number",
                    field: "phone_number",
                    as_list: true,
                },
                same("public_metadata"),
                same("private_metadata"),
                same("unsafe_metadata"),
                same("banned"),
                same("locked"),
                same("created_at"),
            ],
            required: &[],
            bulk: None,
        }),
        changes: &[
            Change::Patch {
                path: &[Lit("users"), Col("id")],
                fields: &[
                    same("first_name"),
                    same("last_name"),
                    same("username"),
                    same("external_id"),
                ],
            },
            Change::Merge {
                path: &[Lit("users"), Col("id"), Lit("metadata")],
                fields: &[
                    same("public_metadata"),
                    same("private_metadata"),
                    same("unsafe_metadata"),
                ],
            },
            Change::Toggle {
                column: "banned",
                on: &[Lit("users"), Col("id"), Lit("ban")],
                off: &[Lit("users"), Col("id"), Lit("unban")],
            },
            Change::Toggle {
                column: "locked",
                on: &[Lit("users"), Col("id"), Lit("lock")],
                off: &[Lit("users"), Col("id"), Lit("unlock")],
            },
        ],
        delete: Some(&[Lit("users"), Col("id")]),
    },
    WriteSpec {
        object: "organizations",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("organizations")],
            fields: &[
                same("name"),
                same("slug"),
                same("created_by"),
                same("max_allowed_memberships"),
                same("public_metadata"),
                same("private_metadata"),
            ],
            required: &["name"],
            bulk: None,
        }),
        changes: &[
            Change::Patch {
                path: &[Lit("organizations"), Col("id")],
                fields: &[
                    same("name"),
                    same("slug"),
                    same("max_allowed_memberships"),
                    same("admin_delete_enabled"),
                ],
            },
            Change::Merge {
                path: &[Lit("organizations"), Col("id"), Lit("metadata")],
                fields: &[same("public_metadata"), same("private_metadata")],
            },
        ],
        delete: Some(&[Lit("organizations"), Col("id")]),
    },
    WriteSpec {
        object: "organization_memberships",
        key: &["organization_id", "user_id"],
        insert: Some(Insert {
            path: &[
                Lit("organizations"),
                Col("organization_id"),
                Lit("memberships"),
            ],
            fields: &[
                same("user_id"),
                same("role"),
                same("public_metadata"),
                same("private_metadata"),
            ],
            required: &["organization_id", "user_id", "role"],
            bulk: None,
        }),
        changes: &[
            Change::Patch {
                path: MEMBERSHIP,
                fields: &[same("role")],
            },
            Change::Merge {
                path: &[
                    Lit("organizations"),
                    Col("organization_id"),
                    Lit("memberships"),
                    Col("user_id"),
                    Lit("metadata"),
                ],
                fields: &[same("public_metadata"), same("private_metadata")],
            },
        ],
        delete: Some(MEMBERSHIP),
    },
    WriteSpec {
        object: "invitations",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("invitations")],
            fields: &[same("email_address"), same("public_metadata")],
            required: &["email_address"],
            bulk: Some((&[Lit("invitations"), Lit("bulk")], 10)),
        }),
        changes: &[Change::Action {
            column: "status",
            actions: &[("revoked", &[Lit("invitations"), Col("id"), Lit("revoke")])],
        }],
        delete: None,
    },
    WriteSpec {
        object: "organization_invitations",
        key: &["organization_id", "id"],
        insert: Some(Insert {
            path: &[
                Lit("organizations"),
                Col("organization_id"),
                Lit("invitations"),
            ],
            fields: &[
                same("email_address"),
                same("role"),
                field("inviter_id", "inviter_user_id"),
                same("public_metadata"),
                same("private_metadata"),
            ],
            required: &["organization_id", "email_address", "role"],
            bulk: Some((
                &[
                    Lit("organizations"),
                    Col("organization_id"),
                    Lit("invitations"),
                    Lit("bulk"),
                ],
                10,
            )),
        }),
        changes: &[Change::Action {
            column: "status",
            actions: &[(
                "revoked",
                &[
                    Lit("organizations"),
                    Col("organization_id"),
                    Lit("invitations"),
                    Col("id"),
                    Lit("revoke"),
                ],
            )],
        }],
        delete: None,
    },
    WriteSpec {
        object: "allowlist_identifiers",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("allowlist_identifiers")],
            fields: &[same("identifier")],
            required: &["identifier"],
            bulk: None,
        }),
        changes: &[],
        delete: Some(&[Lit("allowlist_identifiers"), Col("id")]),
    },
    WriteSpec {
        object: "blocklist_identifiers",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("blocklist_identifiers")],
            fields: &[same("identifier")],
            required: &["identifier"],
            bulk: None,
        }),
        changes: &[],
        delete: Some(&[Lit("blocklist_identifiers"), Col("id")]),
    },
    WriteSpec {
        object: "waitlist_entries",
        key: &["id"],
        insert: Some(Insert {
            path: &[Lit("waitlist_entries")],
            fields: &[same("email_address")],
            required: &["email_address"],
            bulk: Some((&[Lit("waitlist_entries"), Lit("bulk")], 50)),
        }),
        changes: &[Change::Action {
            column: "status",
            actions: &[
                (
                    "invited",
                    &[Lit("waitlist_entries"), Col("id"), Lit("invite")],
                ),
                (
                    "rejected",
                    &[Lit("waitlist_entries"), Col("id"), Lit("reject")],
                ),
            ],
        }],
        delete: Some(&[Lit("waitlist_entries"), Col("id")]),
    },
];

const MEMBERSHIP: &[Seg] = &[
    Lit("organizations"),
    Col("organization_id"),
    Lit("memberships"),
    Col("user_id"),
];

/// `path` as Clerk's reference writes it: `/users/{id}/ban`.
fn template(path: &[Seg]) -> String {
    path.iter()
        .map(|seg| match seg {
            Lit(text) => format!("/{text}"),
            Col(column) => format!("/{{{column}}}"),
        })
        .collect()
}

/// The writes Clerk allows on `object`; `None` for a read-only object.
pub fn spec(object: &str) -> Option<&'static WriteSpec> {
    WRITES.iter().find(|w| w.object == object)
}

/// The objects that can be written, for errors.
pub fn writable_objects() -> Vec<&'static str> {
    WRITES.iter().map(|w| w.object).collect()
}

fn value<'a>(row: &'a Map<String, Value>, column: &str) -> &'a Value {
    row.get(column).unwrap_or(&Value::Null)
}

fn present(row: &Map<String, Value>, column: &str) -> bool {
    !value(row, column).is_null()
}

/// `path` with the row's values in place of its columns.
fn resolve(
    object: &'static str,
    path: &[Seg],
    row: &Map<String, Value>,
) -> Result<Vec<String>, WriteError> {
    path.iter()
        .map(|seg| match seg {
            Lit(text) => Ok(text.to_string()),
            Col(column) => match value(row, column) {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Err(WriteError::Missing { object, column }),
                other => Ok(other.to_string()),
            },
        })
        .collect()
}

/// The metadata patch that turns `old` into `new` under Clerk's deep
/// merge: changed keys with their new value, removed keys as `null`.
pub fn merge_patch(old: &Value, new: &Value) -> Value {
    let empty = Map::new();
    let old_map = old.as_object().unwrap_or(&empty);
    let new_map = new.as_object().unwrap_or(&empty);
    let mut patch = Map::new();
    for (key, new_value) in new_map {
        match old_map.get(key) {
            Some(old_value) if old_value == new_value => {}
            // Clerk merges nested objects too: patch them the same way.
            Some(old_value @ Value::Object(_)) if new_value.is_object() => {
                patch.insert(key.clone(), merge_patch(old_value, new_value));
            }
            _ => {
                patch.insert(key.clone(), new_value.clone());
            }
        }
    }
    for key in old_map.keys() {
        if !new_map.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(patch)
}

impl WriteSpec {
    fn unsupported(&self, action: &'static str) -> WriteError {
        let hint = match (self.object, action) {
            ("invitations" | "organization_invitations", "delete") => {
                "Revoke it instead: UPDATE ... SET status = 'revoked'.".to_string()
            }
            _ => format!("What Clerk allows on {}: {}.", self.object, self.allowed()),
        };
        WriteError::Unsupported {
            object: self.object,
            action,
            hint,
        }
    }

    fn allowed(&self) -> String {
        let mut ops = Vec::new();
        if self.insert.is_some() {
            ops.push("INSERT");
        }
        if !self.changes.is_empty() {
            ops.push("UPDATE");
        }
        if self.delete.is_some() {
            ops.push("DELETE");
        }
        ops.join(", ")
    }

    /// The columns an INSERT may give.
    pub fn insertable_columns(&self) -> Vec<&'static str> {
        self.insert.as_ref().map_or_else(Vec::new, |insert| {
            let mut columns: Vec<&'static str> = insert
                .path
                .iter()
                .filter_map(|s| match s {
                    Col(c) => Some(*c),
                    Lit(_) => None,
                })
                .chain(insert.fields.iter().map(|f| f.column))
                .collect();
            columns.push("attrs");
            columns
        })
    }

    /// The columns an UPDATE may change.
    pub fn updatable_columns(&self) -> Vec<&'static str> {
        self.changes
            .iter()
            .flat_map(|change| match change {
                Change::Patch { fields, .. } | Change::Merge { fields, .. } => {
                    fields.iter().map(|f| f.column).collect::<Vec<_>>()
                }
                Change::Toggle { column, .. } | Change::Action { column, .. } => vec![*column],
            })
            .collect()
    }

    /// Refuses an UPDATE of `columns` that Clerk cannot make.
    pub fn check_update(&self, columns: &[&str]) -> Result<(), WriteError> {
        if self.changes.is_empty() {
            return Err(self.unsupported("update"));
        }
        let allowed = self.updatable_columns();
        match columns.iter().find(|c| !allowed.contains(c)) {
            Some(column) => Err(WriteError::Column {
                object: self.object,
                column: column.to_string(),
                verb: "changed",
                allowed,
            }),
            None => Ok(()),
        }
    }

    pub fn check_insert(&self) -> Result<(), WriteError> {
        self.insert
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| self.unsupported("insert"))
    }

    pub fn check_delete(&self) -> Result<(), WriteError> {
        self.delete
            .map(|_| ())
            .ok_or_else(|| self.unsupported("delete"))
    }

    /// The body of one new row (for the single or the bulk endpoint).
    fn insert_body(&self, insert: &Insert, row: &Map<String, Value>) -> Result<Value, WriteError> {
        let allowed = self.insertable_columns();
        if let Some((column, _)) = row
            .iter()
            .find(|(column, v)| !v.is_null() && !allowed.contains(&column.as_str()))
        {
            return Err(WriteError::Column {
                object: self.object,
                column: column.clone(),
                verb: "given on INSERT",
                allowed,
            });
        }
        if let Some(column) = insert.required.iter().find(|c| !present(row, c)) {
            return Err(WriteError::Missing {
                object: self.object,
                column,
            });
        }
        let mut body = match value(row, "attrs") {
            Value::Null => Map::new(),
            Value::Object(extra) => extra.clone(),
            other => {
                return Err(WriteError::Attrs {
                    object: self.object,
                    got: other.to_string(),
                })
            }
        };
        for f in insert.fields {
            let v = value(row, f.column);
            if !v.is_null() {
                let v = if f.as_list {
                    Value::Array(vec![v.clone()])
                } else {
                    v.clone()
                };
                body.insert(f.field.to_string(), v);
            }
        }
        Ok(Value::Object(body))
    }

    /// The request that creates `row`.
    pub fn insert_request(&self, row: &Map<String, Value>) -> Result<WriteRequest, WriteError> {
        let insert = self
            .insert
            .as_ref()
            .ok_or_else(|| self.unsupported("insert"))?;
        let body = self.insert_body(insert, row)?;
        Ok(WriteRequest {
            method: Method::Post,
            path: resolve(self.object, insert.path, row)?,
            body: Some(body),
        })
    }

    /// The bulk endpoint's largest request, when there is one.
    pub fn bulk_size(&self) -> Option<usize> {
        self.insert.as_ref()?.bulk.map(|(_, max)| max)
    }

    /// Requests that create `rows` through the bulk endpoint: one per run
    /// of rows with the same path (the same organization), at most the
    /// endpoint's maximum each. Each comes with the number of rows it holds.
    pub fn bulk_requests(
        &self,
        rows: &[Map<String, Value>],
    ) -> Result<Vec<(WriteRequest, usize)>, WriteError> {
        let insert = self
            .insert
            .as_ref()
            .ok_or_else(|| self.unsupported("insert"))?;
        let Some((bulk_path, max)) = insert.bulk else {
            return Err(self.unsupported("insert in bulk"));
        };
        let mut requests: Vec<(WriteRequest, usize)> = Vec::new();
        for row in rows {
            let path = resolve(self.object, bulk_path, row)?;
            let body = self.insert_body(insert, row)?;
            match requests.last_mut() {
                Some((last, n)) if last.path == path && *n < max => {
                    if let Some(Value::Array(items)) = last.body.as_mut() {
                        items.push(body);
                    }
                    *n += 1;
                }
                _ => requests.push((
                    WriteRequest {
                        method: Method::Post,
                        path,
                        body: Some(Value::Array(vec![body])),
                    },
                    1,
                )),
            }
        }
        Ok(requests)
    }

    /// The requests that turn `old` into `new`, for the `columns` the
    /// UPDATE sets; none for a value that does not change.
    pub fn update_requests(
        &self,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        columns: &[&str],
    ) -> Result<Vec<WriteRequest>, WriteError> {
        self.check_update(columns)?;
        let changed =
            |column: &str| columns.contains(&column) && value(old, column) != value(new, column);
        let mut requests = Vec::new();
        for change in self.changes {
            match change {
                Change::Patch { path, fields } | Change::Merge { path, fields } => {
                    let merge = matches!(change, Change::Merge { .. });
                    let body: Map<String, Value> = fields
                        .iter()
                        .filter(|f| changed(f.column))
                        .map(|f| {
                            let v = if merge {
                                merge_patch(value(old, f.column), value(new, f.column))
                            } else {
                                value(new, f.column).clone()
                            };
                            (f.field.to_string(), v)
                        })
                        .collect();
                    if !body.is_empty() {
                        requests.push(WriteRequest {
                            method: Method::Patch,
                            path: resolve(self.object, path, old)?,
                            body: Some(Value::Object(body)),
                        });
                    }
                }
                Change::Toggle { column, on, off } if changed(column) => {
                    let path = match value(new, column) {
                        Value::Bool(true) => on,
                        Value::Bool(false) => off,
                        other => {
                            return Err(WriteError::Value {
                                object: self.object,
                                column,
                                value: other.to_string(),
                                accepted: "true, false".into(),
                            })
                        }
                    };
                    requests.push(WriteRequest {
                        method: Method::Post,
                        path: resolve(self.object, path, old)?,
                        body: None,
                    });
                }
                Change::Action { column, actions } if changed(column) => {
                    let new_value = value(new, column);
                    let Some((_, path)) = actions.iter().find(|(v, _)| new_value == v) else {
                        return Err(WriteError::Value {
                            object: self.object,
                            column,
                            value: new_value.to_string(),
                            accepted: actions
                                .iter()
                                .map(|(v, _)| format!("'{v}'"))
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    };
                    requests.push(WriteRequest {
                        method: Method::Post,
                        path: resolve(self.object, path, old)?,
                        body: None,
                    });
                }
                Change::Toggle { .. } | Change::Action { .. } => {}
            }
        }
        Ok(requests)
    }

    /// The requests an INSERT sends, for EXPLAIN.
    pub fn describe_insert(&self) -> Vec<String> {
        let Some(insert) = &self.insert else {
            return Vec::new();
        };
        let mut requests = vec![format!("POST {} (a row each)", template(insert.path))];
        if let Some((path, max)) = insert.bulk {
            requests.push(format!(
                "POST {} ({max} rows each, when there is no RETURNING)",
                template(path)
            ));
        }
        requests
    }

    /// The requests an UPDATE of `columns` may send, for EXPLAIN: each
    /// only for rows where its columns change.
    pub fn describe_update(&self, columns: &[&str]) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|change| match change {
                Change::Patch { path, fields } | Change::Merge { path, fields } => {
                    let set: Vec<&str> = fields
                        .iter()
                        .map(|f| f.column)
                        .filter(|c| columns.contains(c))
                        .collect();
                    (!set.is_empty())
                        .then(|| format!("PATCH {} ({})", template(path), set.join(", ")))
                }
                Change::Toggle { column, on, off } => columns
                    .contains(column)
                    .then(|| format!("POST {} or {} ({column})", template(on), template(off))),
                Change::Action { column, actions } => columns.contains(column).then(|| {
                    actions
                        .iter()
                        .map(|(value, path)| {
                            format!("POST {} ({column} = '{value}')", template(path))
                        })
                        .collect::<Vec<_>>()
                        .join(" or ")
                }),
            })
            .collect()
    }

    /// The request a DELETE sends, for EXPLAIN.
    pub fn describe_delete(&self) -> Vec<String> {
        self.delete
            .map(|path| vec![format!("DELETE {}", template(path))])
            .unwrap_or_default()
    }

    /// The request that deletes `old`.
    pub fn delete_request(&self, old: &Map<String, Value>) -> Result<WriteRequest, WriteError> {
        let path = self.delete.ok_or_else(|| self.unsupported("delete"))?;
        Ok(WriteRequest {
            method: Method::Delete,
            path: resolve(self.object, path, old)?,
            body: None,
        })
    }
}

#[cfg(test)]
mod tests;
