//! Everything that talks to Clerk: the HTTP client (authentication, retry
//! decisions, errors), the request budget and the row-count cache shared
//! by the cluster's backends (in [`shared_words`]), the runtime the
//! requests run on, and [`scan`], which walks a plan's requests.

pub mod budget;
pub mod client;
pub mod estimates;
pub mod runtime;
pub mod scan;
pub mod shared_words;
