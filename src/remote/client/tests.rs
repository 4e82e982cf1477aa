use super::*;
use clerk_mock::{Behaviour, DataConfig, Fault, MockServer};

pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(1500),
        max_total_wait: Duration::from_secs(5),
    }
}

fn client(server: &MockServer, key: &str) -> ClerkClient {
    let mut cfg = ClientConfig::new(&server.url(), key);
    cfg.retry = fast_policy();
    cfg.request_timeout = Duration::from_millis(500);
    ClerkClient::new(&cfg).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn small() -> DataConfig {
    DataConfig {
        users: 3,
        organizations: 1,
        big_org_members: 2,
        ..DataConfig::default()
    }
}

fn reply(status: u16, headers: Vec<(&'static str, String)>, body: &[u8]) -> Option<Fault> {
    Some(Fault::Reply {
        status,
        headers,
        body: body.to_vec(),
    })
}

fn scripted(faults: Vec<Option<Fault>>) -> MockServer {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    server.set_behaviour(Behaviour {
        script: faults.into(),
        ..Behaviour::default()
    });
    server
}

fn get_users(c: &ClerkClient) -> Result<bytes::Bytes, ClerkError> {
    rt().block_on(c.get(&c.url(&["users"], &[]).unwrap()))
}

#[test]
fn a_redirect_is_an_error_and_the_key_goes_nowhere_else() {
    let other = MockServer::start(&small(), "sk", 0).unwrap();
    let to = format!("{}/users", other.url());
    let server = scripted(vec![reply(302, vec![("Location", to)], b"")]);
    let err = get_users(&client(&server, "sk")).unwrap_err();
    assert!(
        matches!(&err, ClerkError::Redirected { status: 302, to } if to == "127.0.0.1"),
        "{err}"
    );
    assert_eq!(server.request_count(), 1);
    assert_eq!(other.request_count(), 0, "the redirect was followed");
}

#[test]
fn a_body_over_the_limit_is_an_error() {
    let server = scripted(vec![reply(200, vec![], &vec![b' '; 300_000])]);
    let mut cfg = ClientConfig::new(&server.url(), "sk");
    cfg.max_response_bytes = 100_000;
    let c = ClerkClient::new(&cfg).unwrap();
    assert!(matches!(
        get_users(&c),
        Err(ClerkError::TooLarge { limit: 100_000 })
    ));
    assert_eq!(server.request_count(), 1);
}

#[test]
fn waits_of_every_kind_count_against_the_total() {
    // 429s without Retry-After, then with an HTTP date: the request
    // gives up when its waits would pass max_total_wait.
    let no_header = Some(Fault::Status {
        status: 429,
        retry_after: None,
    });
    let server = scripted(vec![no_header; 50]);
    let mut cfg = ClientConfig::new(&server.url(), "sk");
    cfg.retry = RetryPolicy {
        max_total_wait: Duration::from_millis(1500),
        ..fast_policy()
    };
    let c = ClerkClient::new(&cfg).unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(get_users(&c), Err(ClerkError::RateLimited { .. })));
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );

    let in_two_seconds = std::time::SystemTime::now() + Duration::from_secs(2);
    let date = chrono::DateTime::<chrono::Utc>::from(in_two_seconds)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let server = scripted(vec![reply(429, vec![("Retry-After", date)], b"{}"), None]);
    let c = client(&server, "sk");
    let t = std::time::Instant::now();
    assert!(get_users(&c).is_ok());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(server.request_count(), 2);
}

#[test]
fn error_bodies_are_short_and_printable() {
    let mut hostile = b"<html>\x1b[31mboom\r\nSet-Cookie: x\x07".to_vec();
    hostile.extend(vec![b'A'; 10_000]);
    let server = scripted(vec![reply(418, vec![], &hostile)]);
    let err = get_users(&client(&server, "sk")).unwrap_err().to_string();
    assert!(!err.chars().any(char::is_control), "{err:?}");
    assert!(err.len() < 300, "{}", err.len());
}

#[test]
fn api_url_may_not_carry_credentials() {
    let cfg = ClientConfig::new("http://alice:s3cr3t@127.0.0.1:9/v1", "sk");
    let err = ClerkClient::new(&cfg).unwrap_err().to_string();
    assert!(matches!(
        ClerkClient::new(&cfg),
        Err(ClerkError::UrlWithCredentials)
    ));
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn url_escapes_segments_and_values() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    let c = client(&server, "sk");
    let u = c
        .url(
            &["users", "../organizations"],
            &[("email_address", "a&limit=1".into())],
        )
        .unwrap();
    assert!(u.path().ends_with("/v1/users/..%2Forganizations"), "{u}");
    assert_eq!(u.query(), Some("email_address=a%26limit%3D1"));
}

#[test]
fn the_api_version_is_pinned_and_bodies_come_gzipped() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    let c = client(&server, "sk");
    let body = rt()
        .block_on(c.get(&c.url(&["users"], &[("limit", "3".into())]).unwrap()))
        .unwrap();
    let users: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(users.len(), 3);
    let log = server.requests();
    assert_eq!(log[0].api_version.as_deref(), Some(API_VERSION));
    assert!(log[0].gzip);
    assert_eq!(API_VERSION, clerk_mock::spec::API_VERSION);
}

#[test]
fn refusals_report_clerks_message_not_a_bad_key() {
    for (status, words) in [
        (403, "organizations are not enabled"),
        (402, "not included in your instance's plan"),
    ] {
        let server = scripted(vec![Some(Fault::Status {
            status,
            retry_after: None,
        })]);
        let c = client(&server, "sk");
        let err = rt()
            .block_on(c.get(&c.url(&["organizations"], &[]).unwrap()))
            .unwrap_err();
        assert!(matches!(err, ClerkError::Refused { .. }), "{err:?}");
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(server.request_count(), 1, "not retried");
    }
    let server = MockServer::start(&small(), "sk_test_right", 0).unwrap();
    let mut config = ClientConfig::new(&server.url(), "sk_test_wrong");
    config.key_source = "the user mapping for PUBLIC on server clerk".into();
    let c = ClerkClient::new(&config).unwrap();
    let err = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap_err();
    assert!(err.to_string().starts_with(
        "Clerk rejected the secret key from the user mapping for PUBLIC on server clerk (HTTP 401)"
    ), "{err}");
}

#[test]
fn bad_key_is_unauthorized_without_the_key_in_the_message() {
    let server = MockServer::start(&small(), "sk_test_right", 0).unwrap();
    let c = client(&server, "sk_test_wrong_secret");
    let err = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap_err();
    assert!(matches!(err, ClerkError::Unauthorized { status: 401, .. }));
    assert!(!format!("{err} {err:?} {c:?}").contains("sk_test_wrong_secret"));
}

#[test]
fn retries_429_with_retry_after_then_succeeds() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    server.set_behaviour(Behaviour {
        script: [
            Some(Fault::Status {
                status: 429,
                retry_after: Some(1),
            }),
            None,
        ]
        .into(),
        ..Behaviour::default()
    });
    let c = client(&server, "sk");
    let t = std::time::Instant::now();
    let body = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(
        serde_json::from_slice::<Vec<serde_json::Value>>(&body)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(server.request_count(), 2);
}

#[test]
fn an_absurd_retry_after_is_capped() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    server.set_behaviour(Behaviour {
        script: [Some(Fault::Status {
            status: 429,
            retry_after: Some(u64::MAX),
        })]
        .into(),
        ..Behaviour::default()
    });
    let c = client(&server, "sk");
    let t = std::time::Instant::now();
    assert!(rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .is_ok());
    assert!(t.elapsed() < Duration::from_secs(3));
}

/// A 429's pause holds back the next request too, and that wait counts
/// against the next request's cap: it gives up at once rather than
/// wait out a pause longer than the cap, and never waits past it.
#[test]
fn every_wait_counts_against_the_cap_even_before_the_first_attempt() {
    let far_future = Some(Fault::Reply {
        status: 429,
        headers: vec![("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT".into())],
        body: b"{}".to_vec(),
    });
    let server = scripted(vec![far_future]);
    let mut cfg = ClientConfig::new(&server.url(), "sk");
    cfg.retry = RetryPolicy {
        max_retry_after: Duration::from_secs(30),
        max_total_wait: Duration::from_secs(2),
        ..fast_policy()
    };
    cfg.rate = Rate::parse("40/10s");
    let c = ClerkClient::new(&cfg).unwrap();
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let err = get_users(&c).unwrap_err();
        assert!(
            matches!(err, ClerkError::RateLimited { waited, next }
                if waited <= Duration::from_secs(2) && next > Duration::from_secs(25)),
            "{err:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    assert_eq!(server.request_count(), 1, "the pause was not kept");

    // 429s without Retry-After: backoff and the lowered budget together
    // stay within the cap.
    let storm = vec![
        Some(Fault::Status {
            status: 429,
            retry_after: None,
        });
        200
    ];
    let server = scripted(storm);
    let mut cfg = ClientConfig::new(&server.url(), "sk");
    cfg.retry = RetryPolicy {
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(800),
        max_total_wait: Duration::from_secs(3),
        ..fast_policy()
    };
    cfg.rate = Rate::parse("20/1s");
    let c = ClerkClient::new(&cfg).unwrap();
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let err = get_users(&c).unwrap_err();
        assert!(matches!(err, ClerkError::RateLimited { .. }), "{err:?}");
        assert!(
            t.elapsed() < Duration::from_millis(3300),
            "{:?}",
            t.elapsed()
        );
    }
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    server.set_behaviour(Behaviour {
        fail_every: 1,
        ..Behaviour::default()
    });
    let c = client(&server, "sk");
    let err = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClerkError::Server {
                status: 503,
                attempts: 4
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 4);
}

#[test]
fn hung_server_times_out_and_4xx_carries_clerks_message() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    server.set_behaviour(Behaviour {
        script: vec![Some(Fault::Hang(Duration::from_secs(3))); 4].into(),
        ..Behaviour::default()
    });
    let c = client(&server, "sk");
    let err = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap_err();
    assert!(
        matches!(err, ClerkError::Unreachable { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");

    let err = rt()
        .block_on(
            c.get(
                &c.url(
                    &["users"],
                    &[("offset", "5".into()), ("starting_after", "user_1".into())],
                )
                .unwrap(),
            ),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Clerk answered HTTP 422: starting_after cannot be combined with offset (form_param_value_invalid)"
    );
}

#[test]
fn unreachable_server() {
    let server = MockServer::start(&small(), "sk", 0).unwrap();
    let url = server.url();
    drop(server);
    let mut cfg = ClientConfig::new(&url, "sk");
    cfg.retry = fast_policy();
    let c = ClerkClient::new(&cfg).unwrap();
    let err = rt()
        .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
        .unwrap_err();
    assert!(matches!(err, ClerkError::Unreachable { .. }), "{err:?}");
}

#[test]
fn rejects_non_http_urls() {
    assert!(matches!(
        ClerkClient::new(&ClientConfig::new("ftp://x", "k")),
        Err(ClerkError::BadUrl(_))
    ));
    assert!(matches!(
        ClerkClient::new(&ClientConfig::new("not a url", "k")),
        Err(ClerkError::BadUrl(_))
    ));
}
