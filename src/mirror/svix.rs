//! Svix's webhook signature, as Svix specifies it: HMAC-SHA256 over
//! `{svix-id}.{svix-timestamp}.{body}`, keyed with the base64 part of the
//! `whsec_` secret; `svix-signature` holds space-separated `v1,<base64>`
//! entries, any of which may match; timestamps more than five minutes from
//! now are refused. Written here (with the `hmac`, `sha2` and `base64`
//! crates) rather than taken from the `svix` crate, which is an HTTP API
//! client; the tests check it against that crate.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a delivery is refused. Never carries the secret or a signature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the webhook secret is not a Svix secret (whsec_ followed by base64)")]
    BadSecret,
    #[error("the delivery has no {0} header")]
    MissingHeader(&'static str),
    #[error("the svix-timestamp header is not a number of seconds")]
    BadTimestamp,
    #[error("the svix-timestamp is {0} s away from now, more than the 300 s allowed (a replay, or a clock that is wrong)")]
    StaleTimestamp(i64),
    #[error("no v1 signature in svix-signature matches the body (wrong secret, or a changed body, id or timestamp)")]
    NoMatch,
}

/// The three headers Svix signs with.
pub struct Headers<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks a delivery against `secret` at `now` (Unix seconds).
pub fn verify(
    secret: &str,
    headers: &Headers,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let key = key(secret)?;
    let id = headers.id.ok_or(SignatureError::MissingHeader("svix-id"))?;
    let timestamp = headers
        .timestamp
        .ok_or(SignatureError::MissingHeader("svix-timestamp"))?;
    let signatures = headers
        .signature
        .ok_or(SignatureError::MissingHeader("svix-signature"))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let off = seconds.saturating_sub(now);
    if off.saturating_abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::StaleTimestamp(off));
    }
    let mac = signed(&key, id, timestamp, body);
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        // Constant time: `verify_slice` compares without an early exit.
        .any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::NoMatch)
    }
}

/// The `v1,<base64>` signature of a delivery (for the tests and the test
/// server's counterpart).
pub fn sign(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
) -> Result<String, SignatureError> {
    let mac = signed(&key(secret)?, id, timestamp, body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `secret` is a Svix signing secret.
pub fn check_secret(secret: &str) -> Result<(), SignatureError> {
    key(secret).map(|_| ())
}

fn key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let b64 = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    match STANDARD.decode(b64) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(SignatureError::BadSecret),
    }
}

fn signed(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // An HMAC takes a key of any length.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> Headers<'a> {
        Headers {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn svix_documented_example() {
        // The example of Svix's "verifying manually" guide.
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let h = headers("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", sig);
        assert_eq!(verify(SECRET, &h, body, 1614265330), Ok(()));
        assert_eq!(
            sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body).unwrap(),
            sig
        );
    }

    #[test]
    fn refusals_say_why() {
        let body = b"{}";
        let now = 1_700_000_000;
        let ts = now.to_string();
        let good = sign(SECRET, "msg_1", &ts, body).unwrap();
        let several = format!("v1,AAAA {good} v2,xyz");
        assert_eq!(
            verify(SECRET, &headers("msg_1", &ts, &several), body, now),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &headers("msg_1", &ts, &good), b"{ }", now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, &headers("msg_2", &ts, &good), body, now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, &headers("msg_1", &ts, &good), body, now + 301),
            Err(SignatureError::StaleTimestamp(-301))
        );
        assert_eq!(
            verify(SECRET, &headers("msg_1", &ts, &good), body, now - 301),
            Err(SignatureError::StaleTimestamp(301))
        );
        assert_eq!(
            verify("whsec_", &headers("msg_1", &ts, &good), body, now),
            Err(SignatureError::BadSecret)
        );
        assert_eq!(
            verify("whsec_QUJD", &headers("msg_1", &ts, &good), body, now),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, &headers("msg_1", "soon", &good), body, now),
            Err(SignatureError::BadTimestamp)
        );
        let missing = Headers {
            id: Some("msg_1"),
            timestamp: Some(&ts),
            signature: None,
        };
        assert_eq!(
            verify(SECRET, &missing, body, now),
            Err(SignatureError::MissingHeader("svix-signature"))
        );
        assert_eq!(
            verify(SECRET, &headers("msg_1", &ts, "v1,AAAA v1,BBBB"), body, now),
            Err(SignatureError::NoMatch)
        );
    }
}
