use super::*;
use crate::catalog::object;
use crate::plan::ScanPlan;
use crate::remote::client::ClientConfig;
use clerk_mock::{Behaviour, DataConfig, Fault, MockServer};
use std::time::Duration;

fn server(users: usize, orgs: usize, big: usize) -> MockServer {
    let cfg = DataConfig {
        users,
        organizations: orgs,
        big_org_members: big,
        ..DataConfig::default()
    };
    MockServer::start(&cfg, "sk", 0).unwrap()
}

/// Splitting as soon as a range holds a page, to exercise the board.
fn parallel(concurrency: usize) -> ScanOptions {
    ScanOptions {
        concurrency,
        split_min_rows: MAX_PAGE_SIZE as f64,
        ..ScanOptions::default()
    }
}

fn client(server: &MockServer) -> Arc<ClerkClient> {
    let mut cfg = ClientConfig::new(&server.url(), "sk");
    cfg.retry = crate::remote::client::tests::fast_policy();
    Arc::new(ClerkClient::new(&cfg).unwrap())
}

fn collect(server: &MockServer, object_name: &str) -> Result<Vec<Value>, ClerkError> {
    collect_with(
        server,
        ScanPlan::full(object(object_name).unwrap()),
        ScanOptions::default(),
    )
}

fn collect_with(
    server: &MockServer,
    plan: ScanPlan,
    options: ScanOptions,
) -> Result<Vec<Value>, ClerkError> {
    let mut stream = ScanStream::start(client(server), plan, options)?;
    let mut rows = Vec::new();
    while let Some(page) = stream.next_page(&mut || {})? {
        rows.extend(page);
    }
    Ok(rows)
}

fn ids(rows: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn every_user_exactly_once_at_page_boundaries() {
    for n in [0, 1, 499, 500, 501, 1000, 1001] {
        let s = server(n, 0, 0);
        let rows = collect(&s, "users").unwrap();
        assert_eq!(rows.len(), n);
        assert_eq!(ids(&rows), ids(&s.dataset().users), "users={n}");
        assert_eq!(s.request_count(), n / 500 + 1, "requests for {n} users");
        let cursors: Vec<_> = s
            .requests()
            .iter()
            .map(|r| r.param("starting_after").map(String::from))
            .collect();
        assert_eq!(cursors[0], None);
        assert!(cursors[1..].iter().all(Option::is_some));
    }
}

#[test]
fn memberships_of_an_organization_larger_than_a_page() {
    let s = server(1200, 30, 1100);
    let rows = collect(&s, "organization_memberships").unwrap();
    assert_eq!(ids(&rows), ids(&s.dataset().memberships));
    let big = &s.dataset().organizations[0]["id"];
    assert_eq!(
        rows.iter()
            .filter(|m| &m["organization"]["id"] == big)
            .count(),
        1100
    );
    let n = s.dataset().memberships.len();
    // 499 new rows per page after the first (one row of overlap).
    assert_eq!(s.request_count(), 1 + (n - 500) / 499 + 1);
    assert!(s
        .requests()
        .iter()
        .all(|r| r.path == "/v1/organization_memberships"));
}

#[test]
fn organizations_all_rows() {
    let s = server(10, 1234, 3);
    let rows = collect(&s, "organizations").unwrap();
    assert_eq!(ids(&rows), ids(&s.dataset().organizations));
}

#[test]
fn malformed_page_or_reset_mid_scan_is_an_error_not_a_short_result() {
    let s = server(1200, 0, 0);
    s.set_behaviour(Behaviour {
        script: [None, Some(Fault::Malformed)].into(),
        ..Behaviour::default()
    });
    assert!(matches!(
        collect(&s, "users"),
        Err(ClerkError::Malformed(_))
    ));

    let s = server(1200, 0, 0);
    s.set_behaviour(Behaviour {
        script: vec![
            None,
            Some(Fault::Reset),
            Some(Fault::Reset),
            Some(Fault::Reset),
            Some(Fault::Reset),
        ]
        .into(),
        ..Behaviour::default()
    });
    assert!(matches!(
        collect(&s, "users"),
        Err(ClerkError::Unreachable { .. })
    ));
}

fn reply(body: Vec<u8>) -> Option<Fault> {
    Some(Fault::Reply {
        status: 200,
        headers: vec![("Content-Type", "application/json".into())],
        body,
    })
}

#[test]
fn a_lying_total_count_ends_at_the_first_short_page() {
    for lie in [10_000_000i64, 2_000] {
        let s = server(10, 600, 3);
        let ds = s.dataset();
        let first: Vec<&Value> = ds.organizations.iter().take(500).collect();
        let body =
            serde_json::to_vec(&serde_json::json!({"data": first, "total_count": lie})).unwrap();
        s.set_behaviour(Behaviour {
            script: [reply(body)].into(),
            ..Behaviour::default()
        });
        let err = collect_with(
            &s,
            ScanPlan::full(object("organizations").unwrap()),
            parallel(8),
        )
        .unwrap_err();
        assert!(matches!(err, ClerkError::Inconsistent(_)), "{err}");
        // The first page, then at most one round of 8.
        assert!(s.request_count() <= 9, "{} requests", s.request_count());
    }
    // Totals that cannot be a number of rows.
    for absurd in ["-3", "1000000000000", "9223372036854775807"] {
        let s = server(10, 5, 3);
        let body = format!(r#"{{"data": [], "total_count": {absurd}}}"#);
        s.set_behaviour(Behaviour {
            script: [reply(body.into_bytes())].into(),
            ..Behaviour::default()
        });
        let err = collect_with(
            &s,
            ScanPlan::full(object("organizations").unwrap()),
            parallel(4),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("total_count {absurd} cannot")),
            "{err}"
        );
        assert_eq!(s.request_count(), 1);
    }
}

/// The first page of users, as the server sends it.
fn first_users_page(s: &MockServer) -> Vec<u8> {
    let c = client(s);
    let url = c
        .url(
            &["users"],
            &[("order_by", "-created_at".into()), ("limit", "500".into())],
        )
        .unwrap();
    let body = runtime::runtime().unwrap().block_on(c.get(&url)).unwrap();
    s.clear_log();
    body.to_vec()
}

#[test]
fn cursor_pages_that_repeat_or_go_back_are_errors() {
    // All users in one millisecond: a repeated page keeps the order.
    let s = MockServer::start(
        &DataConfig {
            users: 1200,
            organizations: 0,
            same_time: 1200,
            ..DataConfig::default()
        },
        "sk",
        0,
    )
    .unwrap();
    let page = first_users_page(&s);
    s.set_behaviour(Behaviour {
        script: [None, reply(page)].into(),
        ..Behaviour::default()
    });
    let err = collect(&s, "users").unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert_eq!(s.request_count(), 2);

    // Distinct times: page 1, page 2, page 1 again.
    let s = server(1600, 0, 0);
    let page = first_users_page(&s);
    s.set_behaviour(Behaviour {
        script: [None, None, reply(page)].into(),
        ..Behaviour::default()
    });
    let err = collect(&s, "users").unwrap_err();
    assert!(
        err.to_string().contains("not in the created_at order"),
        "{err}"
    );
    assert_eq!(s.request_count(), 3);
}

#[test]
fn transient_failures_mid_scan_are_retried_and_rows_stay_exact() {
    let s = server(2600, 0, 0);
    s.set_behaviour(Behaviour {
        fail_every: 3,
        ..Behaviour::default()
    });
    let rows = collect(&s, "users").unwrap();
    assert_eq!(ids(&rows), ids(&s.dataset().users));
}

fn drain(rows: &mut Rows) -> usize {
    let mut n = 0;
    while rows.next_with(&mut || {}, |_| ()).unwrap().is_some() {
        n += 1;
    }
    n
}

#[test]
fn small_results_replay_without_requests_large_ones_start_over() {
    let s = server(1200, 0, 0);
    let start = || {
        ScanStream::start(
            client(&s),
            ScanPlan::full(object("users").unwrap()),
            ScanOptions::default(),
        )
        .unwrap()
    };
    let mut rows = Rows::new(start(), 5000);
    assert_eq!(drain(&mut rows), 1200);
    assert!(rows.rewind());
    assert_eq!(drain(&mut rows), 1200);
    assert_eq!(s.request_count(), 3);

    // Rewound halfway through: replays what was read, then continues.
    let mut rows = Rows::new(start(), 5000);
    assert!(rows.next_with(&mut || {}, |_| ()).unwrap().is_some());
    assert!(rows.rewind());
    assert_eq!(drain(&mut rows), 1200);

    let mut rows = Rows::new(start(), 700);
    assert_eq!(drain(&mut rows), 1200);
    assert!(!rows.rewind());
}

#[test]
fn dropping_the_stream_stops_the_producer() {
    let s = server(3000, 0, 0);
    s.set_behaviour(Behaviour {
        latency: Duration::from_millis(30),
        ..Behaviour::default()
    });
    let options = ScanOptions {
        prefetch: 1,
        ..ScanOptions::default()
    };
    let mut stream = ScanStream::start(
        client(&s),
        ScanPlan::full(object("users").unwrap()),
        options,
    )
    .unwrap();
    assert!(stream.next_page(&mut || {}).unwrap().is_some());
    drop(stream);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.request_count() <= 3,
        "{} requests after drop",
        s.request_count()
    );
}

/// Sorted ids, failing on any duplicate.
fn exactly_once(rows: &[Value]) -> Vec<String> {
    let list = ids(rows);
    let mut unique = list.clone();
    unique.dedup();
    assert_eq!(unique.len(), list.len(), "duplicate rows");
    list
}

#[test]
fn sliced_users_every_user_exactly_once() {
    // Even spacing, many users per millisecond, and accelerating sign-ups.
    let shapes = [
        (3001, 1, false),
        (2503, 7, false),
        (2000, 400, false),
        (4000, 1, true),
        (501, 1, false),
    ];
    for (users, same_time, skewed) in shapes {
        let cfg = DataConfig {
            users,
            organizations: 0,
            same_time,
            skewed,
            ..DataConfig::default()
        };
        let s = MockServer::start(&cfg, "sk", 0).unwrap();
        for concurrency in [3, 8] {
            s.clear_log();
            let plan = ScanPlan::full(object("users").unwrap());
            let rows = collect_with(&s, plan, parallel(concurrency)).unwrap();
            assert_eq!(
                exactly_once(&rows),
                ids(&s.dataset().users),
                "{users} users, {same_time} per ms, skewed {skewed}, {concurrency} workers"
            );
            // Splitting costs little: at most a partial page per slice.
            let pages = users.div_ceil(500);
            assert!(
                s.request_count() <= pages + 2 + 2 * concurrency,
                "{} requests for {pages} pages",
                s.request_count()
            );
        }
    }
}

/// With the default split threshold, a full users scan costs at most
/// a tenth more than the pages its rows fill, plus 3.
#[test]
fn slicing_costs_little_over_the_page_floor() {
    for users in [2_720, 10_000, 100_000] {
        let s = server(users, 0, 0);
        for expected in [None, Some(users as f64)] {
            s.clear_log();
            let options = ScanOptions {
                concurrency: 8,
                expected_rows: expected,
                ..ScanOptions::default()
            };
            let rows = collect_with(&s, ScanPlan::full(object("users").unwrap()), options).unwrap();
            assert_eq!(rows.len(), users);
            let floor = users.div_ceil(MAX_PAGE_SIZE);
            let requests = s.request_count();
            eprintln!("{users} users, expected {expected:?}: {requests} requests, floor {floor}");
            assert!(
                requests <= floor + floor / 10 + 3,
                "{users} users, expected {expected:?}: {requests} requests for {floor} pages"
            );
        }
    }
}

#[test]
fn sliced_users_keep_the_queries_own_range() {
    let s = server(6000, 0, 0);
    let users = &s.dataset().users;
    let (lo, hi) = (
        users[1000]["created_at"].as_i64().unwrap(),
        users[5000]["created_at"].as_i64().unwrap(),
    );
    let request = crate::request::Request {
        conditions: vec![
            crate::request::Condition {
                column: "created_at".into(),
                op: crate::request::Op::Gt,
                value: crate::request::Operand::Int(lo),
            },
            crate::request::Condition {
                column: "created_at".into(),
                op: crate::request::Op::Le,
                value: crate::request::Operand::Int(hi),
            },
        ],
        ..Default::default()
    };
    let plan = crate::plan::plan(object("users").unwrap(), &request);
    let rows = collect_with(&s, plan, parallel(4)).unwrap();
    let expected: Vec<Value> = users[1001..=5000].to_vec();
    assert_eq!(exactly_once(&rows), ids(&expected));
}

#[test]
fn concurrent_offset_pages_join_up() {
    let s = MockServer::start(
        &DataConfig {
            users: 3000,
            organizations: 700,
            big_org_members: 1400,
            members_per_org: 9,
            ..DataConfig::default()
        },
        "sk",
        0,
    )
    .unwrap();
    for name in ["organization_memberships", "organizations"] {
        s.clear_log();
        let rows = collect_with(&s, ScanPlan::full(object(name).unwrap()), parallel(4)).unwrap();
        let expected = if name == "organizations" {
            &s.dataset().organizations
        } else {
            &s.dataset().memberships
        };
        assert_eq!(exactly_once(&rows), ids(expected), "{name}");
        let n = expected.len();
        assert_eq!(s.request_count(), 1 + (n - 1).saturating_sub(1) / 499);
    }
}

#[test]
fn paginated_lists_read_either_shape_exactly_once() {
    // 1,300 invitations: 975 listed by default (two pages), and the
    // revoked ones, which Clerk lists only when asked (one page).
    let s = server(13_000, 0, 0);
    for bare_arrays in [false, true] {
        s.set_behaviour(Behaviour {
            bare_arrays,
            ..Behaviour::default()
        });
        for concurrency in [1, 4] {
            s.clear_log();
            let plan = ScanPlan::full(object("invitations").unwrap());
            let rows = collect_with(&s, plan, parallel(concurrency)).unwrap();
            assert_eq!(
                exactly_once(&rows),
                ids(&s.dataset().invitations),
                "bare arrays {bare_arrays}, concurrency {concurrency}"
            );
            let log = s.requests();
            assert_eq!(log.len(), 3, "{log:?}");
            assert!(log.iter().all(|r| r.param("paginated") == Some("true")));
            let revoked: Vec<_> = log.iter().filter(|r| r.param("status").is_some()).collect();
            assert_eq!(revoked.len(), 1, "{log:?}");
            assert_eq!(revoked[0].param("status"), Some("revoked"));
            // Bare arrays give no total: one page after another, each
            // re-reading the previous page's last row.
            let offsets: Vec<_> = log
                .iter()
                .filter(|r| r.param("status").is_none())
                .map(|r| r.param("offset").map(String::from))
                .collect();
            if bare_arrays || concurrency == 1 {
                assert_eq!(offsets, [None, Some("499".into())]);
            }
        }
    }
}

#[test]
fn concurrent_scans_stay_exact_through_failures_and_fail_on_bad_pages() {
    let s = server(5000, 300, 800);
    s.set_behaviour(Behaviour {
        fail_every: 10,
        ..Behaviour::default()
    });
    for name in ["users", "organization_memberships"] {
        let rows = collect_with(&s, ScanPlan::full(object(name).unwrap()), parallel(4)).unwrap();
        let expected = if name == "users" {
            &s.dataset().users
        } else {
            &s.dataset().memberships
        };
        assert_eq!(exactly_once(&rows), ids(expected), "{name}");
    }
    for fault in [Fault::Malformed, Fault::Reset] {
        s.set_behaviour(Behaviour {
            script: [None, None, None]
                .into_iter()
                .chain(std::iter::repeat_n(Some(fault.clone()), 40))
                .collect(),
            ..Behaviour::default()
        });
        let result = collect_with(&s, ScanPlan::full(object("users").unwrap()), parallel(4));
        assert!(
            matches!(
                result,
                Err(ClerkError::Malformed(_) | ClerkError::Unreachable { .. })
            ),
            "{fault:?}: {:?}",
            result.map(|r| r.len())
        );
    }
}

#[test]
fn pages_keep_only_the_fields_columns_read() {
    let s = server(3, 0, 0);
    let users = object("users").unwrap();
    let fields =
        Fields::for_sources(["email", "first_name"].map(|c| users.column(c).unwrap().source));
    let options = ScanOptions {
        fields,
        ..ScanOptions::default()
    };
    let rows = collect_with(&s, ScanPlan::full(users), options).unwrap();
    let mut keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "email_addresses",
            "first_name",
            "id",
            "primary_email_address_id"
        ]
    );
}
