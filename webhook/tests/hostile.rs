//! clerk-fdw-webhook against hostile and broken deliveries: each gets a
//! clear status, the receiver's memory stays bounded, and it keeps serving.

mod common;

use clerk_mock::webhooks::Change;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The status line's code of a raw HTTP exchange, or 0 when the receiver
/// closed the connection without answering.
fn raw(port: u16, request: &[u8], then_wait: Duration) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(request);
    std::thread::sleep(then_wait);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A delivery's request line and headers (`svix-*` included), announcing a
/// body of `length` bytes, for requests sent raw.
fn raw_head(length: usize, headers: &[(String, String)]) -> String {
    let mut head = format!(
        "POST /clerk/webhooks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

fn post(port: u16, content_type: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent
        .post(format!("http://127.0.0.1:{port}/clerk/webhooks"))
        .header("content-type", content_type);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    match request.send(body) {
        Ok(mut response) => (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

#[test]
fn hostile_deliveries_get_clear_statuses_and_bounded_memory() {
    let cluster = Cluster::start("hostile", 5861);
    let mock = mock(50);
    let mut db = cluster.client();
    set_up_mirror(&mut db, &mock);
    let mut receiver =
        ReceiverProcess::start(&cluster, &["--read-timeout", "2", "--connections", "8"]);
    let port = receiver.port;
    let delivery = mock.change(Change::CreateUser).unwrap().remove(0);
    let signed = mock.webhook_headers(&delivery);
    let json = "application/json";

    // Oversize body: refused from its Content-Length, before it is sent
    // (a client still sending would see the connection close instead).
    let head = raw_head(2 * 1024 * 1024, &signed) + "{\"a\":";
    assert_eq!(raw(port, head.as_bytes(), Duration::ZERO), 413);
    // Wrong content type.
    assert_eq!(
        post(port, "text/plain", &signed, delivery.body.as_bytes()).0,
        415
    );
    // Missing, garbled and oversized svix-* headers.
    for missing in ["svix-id", "svix-timestamp", "svix-signature"] {
        let headers: Vec<_> = signed
            .iter()
            .filter(|(k, _)| k != missing)
            .cloned()
            .collect();
        let (status, body) = post(port, json, &headers, delivery.body.as_bytes());
        assert_eq!(status, 400, "without {missing}: {body}");
        assert!(body.contains(missing), "{body}");
    }
    let garble = |name: &str, value: &str| -> Vec<(String, String)> {
        signed
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == name {
                        value.to_string()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };
    assert_eq!(
        post(
            port,
            json,
            &garble("svix-signature", "v1,AAAA"),
            delivery.body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            json,
            &garble("svix-signature", "x"),
            delivery.body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            json,
            &garble("svix-timestamp", "12"),
            delivery.body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            json,
            &garble("svix-timestamp", "not a time"),
            delivery.body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            json,
            &garble("svix-id", &"x".repeat(5000)),
            delivery.body.as_bytes()
        )
        .0,
        400
    );
    // A body that is not the one signed.
    assert_eq!(
        post(port, json, &signed, b"{\"type\": \"user.created\"}").0,
        401
    );
    // Not UTF-8.
    assert_eq!(post(port, json, &signed, &[0xff, 0xfe, b'{']).0, 400);
    // Signed, but not an event: the body's fault.
    let bogus = clerk_mock::webhooks::Delivery {
        id: "msg_bogus".into(),
        kind: "user.created".into(),
        body: "[1, 2, 3]".into(),
    };
    let bogus_headers = clerk_mock::webhooks::sign(WEBHOOK_SECRET, &bogus);
    assert_eq!(
        post(port, json, &bogus_headers, bogus.body.as_bytes()).0,
        400
    );
    // Not a POST.
    assert_eq!(
        raw(
            port,
            b"GET /clerk/webhooks HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            Duration::ZERO
        ),
        405
    );
    // A slow body: 408 after the read timeout.
    let started = Instant::now();
    let head = raw_head(100, &signed) + "{\"a\":";
    assert_eq!(raw(port, head.as_bytes(), Duration::ZERO), 408);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Slow headers: the connection is closed after the read timeout.
    let started = Instant::now();
    let status = raw(
        port,
        b"POST /clerk/webhooks HTTP/1.1\r\nhost: x\r\nsvix-id: m",
        Duration::ZERO,
    );
    assert!(status == 0 || status == 408, "slow headers: {status}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Garbage instead of HTTP.
    let status = raw(
        port,
        b"\x16\x03\x01\x02\x00 garbage\r\n\r\n",
        Duration::ZERO,
    );
    assert!(status == 0 || status == 400, "garbage: {status}");

    // The real delivery, then again: applied, then a duplicate.
    let (status, body) = post(port, json, &signed, delivery.body.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"applied\""), "{body}");
    let (status, body) = post(
        port,
        json,
        &mock.webhook_headers(&delivery),
        delivery.body.as_bytes(),
    );
    assert_eq!(
        (status, body.contains("\"duplicate\"")),
        (200, true),
        "{body}"
    );

    // 1,000 deliveries at once, on 1,000 connections, through 8 database
    // connections: every one applied.
    let deliveries: Vec<_> = (0..1000)
        .map(|_| mock.change(Change::CreateUser).unwrap().remove(0))
        .collect();
    let threads: Vec<_> = deliveries
        .into_iter()
        .map(|d| {
            let headers = clerk_mock::webhooks::sign(WEBHOOK_SECRET, &d);
            std::thread::spawn(move || post(port, "application/json", &headers, d.body.as_bytes()))
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in threads {
        *statuses.entry(t.join().unwrap().0).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        [(200u16, 1000)].into_iter().collect(),
        "statuses of 1,000 deliveries at once"
    );
    let users: i64 = db
        .query_one("select count(*) from clerk_local.users", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, mock.dataset().users.len() as i64);

    // The database down: 503, so that Svix retries; back up: applied.
    let later = mock.change(Change::CreateUser).unwrap().remove(0);
    drop(db);
    cluster.down();
    let (status, body) = post(
        port,
        json,
        &mock.webhook_headers(&later),
        later.body.as_bytes(),
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        !body.contains("/tmp") && !body.contains("postgres"),
        "no database details to the sender: {body}"
    );
    cluster.up();
    let (status, body) = post(
        port,
        json,
        &mock.webhook_headers(&later),
        later.body.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // SIGTERM with a delivery in flight: no new connection is taken, the
    // delivery in flight is applied and answered, then the receiver exits.
    let mut stopping = ReceiverProcess::start(&cluster, &["--read-timeout", "10"]);
    let in_flight = mock.change(Change::CreateUser).unwrap().remove(0);
    let mut stream = TcpStream::connect(("127.0.0.1", stopping.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = raw_head(in_flight.body.len(), &mock.webhook_headers(&in_flight));
    let (first, rest) = in_flight.body.split_at(in_flight.body.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let term = std::process::Command::new("kill")
        .args(["-TERM", &stopping.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    wait_for("the listener to close", Duration::from_secs(5), || {
        TcpStream::connect(("127.0.0.1", stopping.port)).is_err()
    });
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the delivery in flight: {answer}"
    );
    assert!(answer.contains("\"applied\""), "{answer}");
    wait_for("the receiver to exit", Duration::from_secs(10), || {
        !stopping.alive()
    });
    assert_eq!(stopping.child.wait().unwrap().code(), Some(0));

    let peak_kb = receiver.peak_kb();
    eprintln!("hostile: the receiver's peak memory: {peak_kb} kB");
    assert!(
        peak_kb < 150_000,
        "the receiver's memory grew to {peak_kb} kB"
    );
    assert!(receiver.alive(), "the receiver is still running");
    // The log has one line per delivery and neither secret.
    let log = std::fs::read_to_string(format!("/tmp/clerk-fdw-webhook-{port}.log")).unwrap();
    assert!(
        !log.contains(WEBHOOK_SECRET.trim_start_matches("whsec_")) && !log.contains(SECRET_KEY)
    );
    assert!(
        log.lines()
            .filter(|l| l.contains(" 200 applied user.created "))
            .count()
            >= 1002
    );
    cluster.assert_no_crash();
}
