-- The seed blog's dashboard on the mirror: the same four questions as
-- examples/analytics.sql, answered from plain local tables for zero Clerk
-- requests. Set up once (see README, "Mirror"):
--
--   select * from clerk_fdw.create_mirror('clerk', 'clerk_local');
--   select * from clerk_fdw.sync_mirror('clerk_local');
--
-- then point webhooks at clerk_fdw.receive_webhook and run this with
-- search_path = clerk_local.

-- How many users signed up in the last 30 days?
select count(*) as signups_30_days
from users
where created_at > now() - interval '30 days';

-- New organizations per week.
select date_trunc('week', created_at) as week, count(*) as organizations
from organizations
group by 1
order by 1;

-- The organizations of the newest member.
select o.name
from organization_memberships m
join organizations o on o.id = m.organization_id
where m.user_id = (select user_id from organization_memberships order by created_at desc limit 1);

-- Members and roles of the oldest organization.
select m.identifier, m.role
from organization_memberships m
where m.organization_id = (select id from organizations order by created_at limit 1);
