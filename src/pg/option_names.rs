//! The table of clerk_fdw's options: where each may be set. Plain data,
//! read by the validator and by the errors that list valid options.

/// The one schema `IMPORT FOREIGN SCHEMA` knows.
pub const REMOTE_SCHEMA: &str = "clerk";

/// Where an option may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Wrapper,
    Server,
    Table,
    UserMapping,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Wrapper => "foreign data wrapper",
            Level::Server => "server",
            Level::Table => "foreign table",
            Level::UserMapping => "user mapping",
        }
    }

    pub fn valid_options(self) -> &'static [&'static str] {
        match self {
            Level::Wrapper => &["allowed_hosts"],
            Level::Server => &[
                "api_key",
                "api_key_id",
                "api_key_name",
                "api_url",
                "api_version",
                "connect_timeout_ms",
                "request_timeout_ms",
                "max_retries",
                "max_retry_wait_ms",
                "request_budget",
                "max_concurrency",
                "max_response_bytes",
                "pushdown",
                "webhook_secret_id",
                "webhook_secret_name",
                "writable",
                "max_write_rows",
            ],
            Level::Table => &[
                "object",
                "pushdown",
                "max_concurrency",
                "writable",
                "max_write_rows",
            ],
            Level::UserMapping => &["api_key", "webhook_secret"],
        }
    }
}
