//! How a membership links users and organizations, for narrowing one by
//! the other in a join.

/// A join that narrows a scan through the memberships: `users.id =
/// organization_memberships.user_id` with `organization_memberships.
/// organization_id = 'org_…'` lets the users scan ask Clerk for the users
/// with a membership in that organization (`/users?organization_id=`). The
/// join keeps only those users anyway, so the filter changes the requests,
/// never the answer.
#[derive(Debug)]
pub struct MembershipLink {
    /// The object narrowed, by its `id` (a [`Match::Member`] filter).
    pub object: &'static str,
    /// The memberships' column that equals the object's `id` in the join.
    pub joined_on: &'static str,
    /// The memberships' column whose value Clerk narrows by.
    pub by: &'static str,
}

/// The object the links go through.
pub const LINKED_THROUGH: &str = "organization_memberships";

pub const MEMBERSHIP_LINKS: &[MembershipLink] = &[
    MembershipLink {
        object: "users",
        joined_on: "user_id",
        by: "organization_id",
    },
    MembershipLink {
        object: "organizations",
        joined_on: "organization_id",
        by: "user_id",
    },
];
