//! `clerk-mock`: run the Clerk-compatible server from the command line.
//!
//! ```text
//! clerk-mock [--port 8787] [--users 1200] [--organizations 40] [--big-org-members 600]
//!            [--members-per-org 5] [--same-time 1] [--skewed 0|1] [--lean 0|1] [--latency-ms 0] [--rate-limit N/SECONDS (sliding)] [--fail-every N] [--secret-key sk_test_mock]
//!            [--webhook-url URL --webhook-secret whsec_... [--webhook-retry-scale 0.001] [--webhook-senders 4]]
//! ```
//! With `--webhook-url`, every change (`/__mock/change`) is delivered there
//! as a signed Svix webhook, retried on Svix's schedule times the scale;
//! `/__mock/webhooks?drop=&duplicate=&reorder_ms=` injects faults.
//! The newest synthetic user is created "now", so relative-time queries
//! ("signed up in the last 30 days") have answers. Prints the API URL on start.

use clerk_mock::{Behaviour, DataConfig, MockServer, RateLimit};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    let mut port = 8787u16;
    let mut secret = String::from("sk_test_mock");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut data = DataConfig {
        newest_ms: now_ms,
        ..DataConfig::default()
    };
    let mut behaviour = Behaviour::default();
    let mut webhook_url = None;
    let mut webhook_secret = String::new();
    let mut retry_scale = 1.0;
    let mut senders = 4;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        let number = || -> u64 {
            value.parse().unwrap_or_else(|_| {
                eprintln!("clerk-mock: {flag} needs a number, got {value:?}");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--port" => port = number() as u16,
            "--users" => data.users = number() as usize,
            "--organizations" => data.organizations = number() as usize,
            "--big-org-members" => data.big_org_members = number() as usize,
            "--members-per-org" => data.members_per_org = number() as usize,
            "--same-time" => data.same_time = number() as usize,
            "--skewed" => data.skewed = number() != 0,
            "--lean" => data.lean = number() != 0,
            "--spacing-ms" => data.spacing_ms = number() as i64,
            "--latency-ms" => behaviour.latency = Duration::from_millis(number()),
            "--fail-every" => behaviour.fail_every = number(),
            "--secret-key" => secret = value.clone(),
            "--webhook-url" => webhook_url = Some(value.clone()),
            "--webhook-secret" => webhook_secret = value.clone(),
            "--webhook-senders" => senders = number().clamp(1, 256) as usize,
            "--webhook-retry-scale" => {
                retry_scale = value.parse().unwrap_or_else(|_| {
                    eprintln!("clerk-mock: --webhook-retry-scale needs a number, e.g. 0.001");
                    std::process::exit(2)
                })
            }
            "--rate-limit" => {
                let parsed = value
                    .split_once('/')
                    .and_then(|(n, s)| Some((n.parse().ok()?, s.parse().ok()?)));
                let Some((n, secs)) = parsed else {
                    eprintln!("clerk-mock: --rate-limit wants REQUESTS/SECONDS, e.g. 100/10");
                    std::process::exit(2)
                };
                // Clerk's limits are sliding windows.
                behaviour.rate_limit = Some(RateLimit::sliding(n, Duration::from_secs(secs)));
            }
            other => {
                eprintln!("clerk-mock: unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    let server = MockServer::start(&data, &secret, port).unwrap_or_else(|e| {
        eprintln!("clerk-mock: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1)
    });
    server.set_behaviour(behaviour);
    server.set_webhook_secret(&webhook_secret);
    if let Some(url) = &webhook_url {
        server.send_webhooks_to(url, retry_scale, senders);
    }
    println!(
        "clerk-mock serving {} users, {} organizations, {} memberships at {}",
        data.users,
        data.organizations,
        server.dataset().memberships.len(),
        server.url()
    );
    loop {
        std::thread::park();
    }
}
