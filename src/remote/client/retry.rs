//! The retry decisions: what an answer asks of the loop, how long to wait
//! (backoff with jitter, or what `Retry-After` says), and how a transport
//! error is told without its URL.

use super::RetryPolicy;
use std::time::Duration;

/// What an answer asks of the retry loop.
pub(super) enum Answer {
    Done(u16, bytes::Bytes),
    Retry(Retry),
}

/// Why an attempt is to be repeated.
pub(super) enum Retry {
    RateLimited(Option<Duration>),
    Server(u16),
    Transport(String),
}

/// A `Retry-After` value: seconds, or an HTTP date.
pub(super) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

/// The innermost cause of a reqwest error, without the URL (which is ours
/// anyway) and never with headers.
pub(super) fn transport_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if e.is_timeout() {
        format!("request timed out ({cause})")
    } else {
        cause.to_string()
    }
}

/// Exponential backoff for the `n`-th retry (0-based), with "equal jitter":
/// half fixed, half random.
pub(super) fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << n.min(16))
        .min(policy.max_delay);
    exp / 2 + jitter(exp / 2)
}

pub(super) fn jitter(max: Duration) -> Duration {
    max.mul_f64(fastrand::f64())
}
