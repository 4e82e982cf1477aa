-- The seed's analytics questions, as views and functions over the tables
-- that `IMPORT FOREIGN SCHEMA clerk FROM SERVER ... INTO clerk` creates.
-- Every filter below is pushed down to Clerk (see EXPLAIN).

-- How many users signed up in the past 30 days?
-- One request to /users?created_at_after=... (count(*) goes to /users/count).
create view signups_last_30_days as
select count(*) as signups
from clerk.users
where created_at > now() - interval '30 days';

-- Organizations created per week.
create view organizations_per_week as
select date_trunc('week', created_at) as week, count(*) as organizations
from clerk.organizations
group by 1;

-- Which organizations is this user in? Asks /users/{id}/organization_memberships.
create function organizations_of_user(p_user_id text)
returns table (organization_id text, name text, role text)
language sql stable as $$
  select o.id, o.name, m.role
  from clerk.organization_memberships m
  join clerk.organizations o on o.id = m.organization_id
  where m.user_id = p_user_id
$$;

-- Users and roles of one organization: the membership list carries each
-- member's identifier (email) and name, so no per-user lookup is needed.
create function members_of_organization(p_organization_id text)
returns table (user_id text, identifier text, first_name text, role text)
language sql stable as $$
  select m.user_id, m.identifier, m.first_name, m.role
  from clerk.organization_memberships m
  where m.organization_id = p_organization_id
$$;
