//! The one place that describes each Clerk object clerk_fdw exposes: its
//! endpoints (how each pages, what it can filter, sort and count), and its
//! columns with their JSON sources and kinds.
//! The README's column reference is written from these tables.
//!
//! To add an object: describe it in the file of its family (its columns,
//! then its `ObjectSpec`), list it in [`OBJECTS`], and give the test server
//! its endpoint (`tests/clerk-mock`). [`model`] defines the terms,
//! [`build`] the shorthands, [`links`] how memberships join users and
//! organizations.

mod model;
pub use model::{
    ColumnSpec, Count, Endpoint, Envelope, Filter, Kind, Match, Method, ObjectSpec, Paging, Source,
    KEY, MAX_PAGE_SIZE, MULTI_PAGE_ORDER_KEYS,
};
#[macro_use]
mod build;
mod billing;
mod instance;
mod links;
mod machines;
mod organizations;
mod users;
pub mod writes;
pub use links::{MembershipLink, LINKED_THROUGH, MEMBERSHIP_LINKS};

/// Every object, in the order `IMPORT FOREIGN SCHEMA` creates them.
pub static OBJECTS: &[ObjectSpec] = &[
    users::USERS,
    organizations::ORGANIZATIONS,
    organizations::ORGANIZATION_MEMBERSHIPS,
    instance::INVITATIONS,
    organizations::ORGANIZATION_INVITATIONS,
    instance::ALLOWLIST_IDENTIFIERS,
    instance::BLOCKLIST_IDENTIFIERS,
    instance::DOMAINS,
    instance::SAML_CONNECTIONS,
    instance::JWT_TEMPLATES,
    instance::OAUTH_APPLICATIONS,
    instance::REDIRECT_URLS,
    users::SESSIONS,
    billing::BILLING_PLANS,
    billing::BILLING_PRICES,
    billing::BILLING_SUBSCRIPTION_ITEMS,
    billing::BILLING_STATEMENTS,
    billing::BILLING_PAYMENT_ATTEMPTS,
    billing::BILLING_SUBSCRIPTIONS,
    instance::WAITLIST_ENTRIES,
    organizations::ORGANIZATION_ROLES,
    organizations::ORGANIZATION_PERMISSIONS,
    organizations::ROLE_SETS,
    organizations::ENTERPRISE_CONNECTIONS,
    organizations::ORGANIZATION_DOMAINS,
    organizations::USER_ORGANIZATION_INVITATIONS,
    machines::MACHINES,
    machines::API_KEYS,
    machines::M2M_TOKENS,
    instance::INSTANCE,
    instance::INSTANCE_ORGANIZATION_SETTINGS,
];

pub fn object(name: &str) -> Option<&'static ObjectSpec> {
    OBJECTS.iter().find(|o| o.name == name)
}

pub fn object_names() -> Vec<&'static str> {
    OBJECTS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests;
