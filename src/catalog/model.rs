//! The vocabulary of the catalogue: an object, its endpoints (paging,
//! filters, order, count) and its columns (JSON source and kind).

/// What a column's JSON value is, which decides the SQL types it may be
/// declared as (see [`crate::convert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    /// An amount of money in the currency's smallest unit (cents), as
    /// Clerk sends it: `bigint` or `numeric`, never floating point.
    Cents,
    /// Unix milliseconds.
    TimestampMs,
    /// A JSON object (metadata, the whole row).
    Json,
    /// An array of strings.
    TextList,
    /// An array of objects; as `text[]` it yields `text_field` of each.
    ObjectList {
        text_field: &'static str,
    },
    /// Kept only so old DDL keeps working (`gender`); always NULL.
    Removed,
}

/// Where a column's value comes from in the object's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A path of keys from the object's root.
    Path(&'static [&'static str]),
    /// The element of array `list` whose `id` equals the object's `id_key`,
    /// and from it the field `field` (the primary email or phone number).
    Primary {
        id_key: &'static str,
        list: &'static str,
        field: &'static str,
    },
    /// The whole object.
    Whole,
    /// No value at all.
    Nothing,
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    /// Other accepted names (the seed's `user_id` for `id`, ...).
    pub aliases: &'static [&'static str],
    pub source: Source,
    pub kind: Kind,
    pub doc: &'static str,
}

/// How an endpoint is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `starting_after=<last id>` on a `created_at` ordering (users).
    Cursor,
    /// `offset`, re-reading the previous page's last row to prove nothing
    /// shifted in between.
    Offset,
    /// One object, no paging; 404 means no row.
    Single,
}

/// The shape of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A bare JSON array.
    Array,
    /// `{"data": [...], "total_count": n}`.
    Data,
    /// A list with Clerk's `paginated` parameter: documented as a bare
    /// array, it answers `{data, total_count}` when asked with
    /// `paginated=true`, which clerk_fdw always sends. Both shapes are read.
    Paginated,
    /// One JSON object.
    Single,
}

/// How Clerk matches a filter parameter against a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `param=v`, repeatable up to 100 times; Clerk matches exactly.
    Exact,
    /// `param=v` with a single value (Clerk's parameter is a string, not a
    /// list): an `IN` list becomes one request series per value.
    One,
    /// Like `Exact`, but a leading `+`/`-` means include/exclude to Clerk,
    /// so values starting with either are sent with an explicit `+`.
    ExactSigned,
    /// Clerk's match is wider than the column's `=` (any of the user's
    /// addresses, case-insensitive): fewer rows to fetch, but only Postgres'
    /// re-check makes the answer exact.
    Wider,
    /// `param=true|false`.
    Flag,
    /// `{param}_after` / `{param}_before`, Unix milliseconds, both exclusive.
    Range,
    /// Clerk's case-insensitive substring match (`email_address_query`):
    /// narrows `LIKE`/`ILIKE` by the pattern's literal part.
    Contains,
    /// `param=v`, repeatable and signed like `ExactSigned`: the rows with a
    /// membership in `v` (users of an organization, organizations of a
    /// user). Asked for when a join with the memberships gives `v` (see
    /// [`MEMBERSHIP_LINKS`]).
    Member,
}

/// A column Clerk can filter an endpoint by.
#[derive(Debug)]
pub struct Filter {
    pub column: &'static str,
    pub param: &'static str,
    pub how: Match,
    /// Each value selects at most one row (for row estimates).
    pub unique: bool,
    /// The values Clerk's spec allows (an enum), empty for any.
    pub allowed: &'static [&'static str],
    /// `allowed` is every value a row can have: another value matches no
    /// row and is answered without a request. Otherwise the parameter
    /// takes fewer values than rows have (a subscription item can be
    /// `canceled` but not be listed by that status): other values are
    /// left to Postgres.
    pub enum_of_rows: bool,
}

/// How Clerk counts what an endpoint lists without sending the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A dedicated endpoint taking the same filters (`/users/count`).
    Endpoint(&'static [&'static str]),
    /// The list's `total_count`, asked for with `limit=1`.
    TotalCount,
    Unsupported,
}

/// Clerk's largest page (`limit` is at most 500 on every list).
pub const MAX_PAGE_SIZE: usize = 500;

/// Stands for the key value in an [`Endpoint`] path.
pub const KEY: &str = "{key}";

/// One way of listing an object.
#[derive(Debug)]
pub struct Endpoint {
    /// Path below `api_url`; [`KEY`] is replaced by the key column's value.
    pub path: &'static [&'static str],
    /// The column whose `=`/`IN` selects this endpoint (one request series
    /// per value), with how exactly the endpoint matches it; `None` for the
    /// instance-wide list.
    pub key: Option<(&'static str, Match)>,
    /// The query parameter that carries the key value, for endpoints that
    /// take it there rather than in the path (`/sessions?user_id=`).
    pub key_param: Option<&'static str>,
    pub envelope: Envelope,
    pub paging: Paging,
    pub filters: &'static [Filter],
    /// Columns `order_by=+col|-col` accepts.
    pub order_by: &'static [&'static str],
    /// The order used when the query asks for none.
    pub default_order: Option<&'static str>,
    pub count: Count,
    /// Typical rows per key value (for row estimates).
    pub rows_per_key: f64,
    /// Clerk's spec documents 404 for a key that does not exist: it means
    /// no rows. Anywhere else a 404 is an error (a wrong `api_url`, say).
    pub not_found_means_no_rows: bool,
    /// Rows Clerk leaves out unless a filter asks for them, as
    /// `(param, value)`: without that filter they are read in a request
    /// series of their own (`/invitations` lists no revoked invitation
    /// unless asked `status=revoked`).
    pub unlisted_by_default: Option<(&'static str, &'static str)>,
    /// Columns Clerk sends only when a flag asks for them, as
    /// `(column, flag)`: the flag is sent `true` when the query reads the
    /// column (or the whole object) or sorts by it.
    pub included_on_request: &'static [(&'static str, &'static str)],
    /// The largest `limit` the endpoint accepts.
    pub max_limit: usize,
    /// The field of a `{...}` page that holds the rows (`data`, or
    /// `m2m_tokens` for M2M tokens).
    pub list_field: &'static str,
    /// Parameters sent on every request: the flags that make Clerk list
    /// rows it leaves out by default (`include_free=true`, ...).
    pub fixed_params: &'static [(&'static str, &'static str)],
    /// The field each row gets set to the request's key value, for
    /// objects that do not carry it (a subscription fetched by user id has
    /// no `user_id`): the key column's condition stays checkable.
    pub key_in_row: Option<&'static str>,
}

#[derive(Debug)]
pub struct ObjectSpec {
    /// The table option `object`.
    pub name: &'static str,
    /// The instance-wide list first, then the narrower endpoints a key
    /// equality selects, in order of preference.
    pub endpoints: &'static [Endpoint],
    pub columns: &'static [ColumnSpec],
    /// Clerk cannot list the object instance-wide: `endpoints[0]` is never
    /// requested, and a query must select rows by a key of the others.
    pub needs_key: bool,
}

impl ColumnSpec {
    /// Clerk sends the field in every object (`count(column)` is `count(*)`).
    pub fn always_present(&self) -> bool {
        self.source == Source::Path(&["id"])
    }
}

impl ObjectSpec {
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns
            .iter()
            .find(|c| c.name == name || c.aliases.contains(&name))
    }

    /// All accepted column names, for error messages.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns
            .iter()
            .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
            .collect()
    }

    /// The instance-wide list.
    pub fn list(&self) -> &'static Endpoint {
        &self.endpoints[0]
    }

    /// The columns whose `=` selects a narrower endpoint.
    pub fn key_columns(&self) -> Vec<&'static str> {
        self.endpoints[1..]
            .iter()
            .filter_map(|e| e.key.map(|(column, _)| column))
            .collect()
    }
}

/// Sort keys other than these are pushed only when the whole answer fits
/// one page: they are not unique, so rows sharing a value could shift
/// between the pages of an offset walk.
pub const MULTI_PAGE_ORDER_KEYS: &[&str] = &["created_at"];

/// An HTTP method clerk_fdw sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}
