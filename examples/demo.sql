-- clerk_fdw demo: expects psql variables :api_key and :api_url.
\pset footer off
create extension if not exists clerk_fdw;

create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper
  options (api_url :'api_url');
-- The key goes in a user mapping: only the server's owner and superusers
-- can read its options (server options are readable by every role).
create user mapping for public server clerk options (api_key :'api_key');

-- Every Clerk object as a typed foreign table, no hand-written DDL.
create schema clerk;
import foreign schema clerk from server clerk into clerk;

\echo
\echo '== How many users signed up in the past 30 days?'
select count(*) as signups_last_30_days
from clerk.users
where created_at > now() - interval '30 days';

\echo '== Sign-ups per week, last 8 weeks'
select date_trunc('week', created_at)::date as week, count(*) as signups
from clerk.users
where created_at > now() - interval '8 weeks'
group by 1 order by 1;

\echo '== Organizations created per week, last 10 weeks'
select date_trunc('week', created_at)::date as week, count(*) as organizations
from clerk.organizations
where created_at > now() - interval '10 weeks'
group by 1 order by 1;

\echo '== The five largest organizations with their admins'
with sizes as (
  select organization_id, count(*) as members
  from clerk.organization_memberships group by 1
)
select o.name, s.members, string_agg(coalesce(u.email, u.username, u.id), ', ') as admins
from sizes s
join clerk.organizations o on o.id = s.organization_id
join clerk.organization_memberships m on m.organization_id = o.id and m.role = 'org:admin'
join clerk.users u on u.id = m.user_id
group by o.name, s.members
order by s.members desc, o.name
limit 5;

\echo '== Which organizations is the most recent member in?'
select coalesce(u.email, u.username, u.id) as member, o.name, m.role
from (select user_id from clerk.organization_memberships order by created_at desc limit 1) latest
join clerk.organization_memberships m using (user_id)
join clerk.organizations o on o.id = m.organization_id
join clerk.users u on u.id = m.user_id;

\echo '== Sessions of the five newest users (Clerk lists sessions per user: one request each)'
select u.email, s.status, s.created_at, s.latest_activity->>'city' as city
from (select id, email from clerk.users order by created_at desc limit 5) u
join clerk.sessions s on s.user_id = u.id
order by s.created_at desc;

\echo '== Plans in public metadata'
select coalesce(public_metadata->>'plan', '(none)') as plan, count(*) as users
from clerk.users group by 1 order by 2 desc;

-- An instance that does not use Clerk Billing or the waitlist may answer the
-- last two with an error: the demo shows it and ends normally.
\set ON_ERROR_STOP off
\echo '== Monthly recurring revenue by plan (Clerk Billing; amounts in cents, exact)'
select p.name as plan, p.for_payer_type as payer, count(*) as subscriptions,
       round(sum(case i.plan_period when 'annual' then p.annual_monthly_fee_amount
                                    else p.fee_amount end) / 100.0, 2) as mrr
from clerk.billing_subscription_items i
join clerk.billing_plans p on p.id = i.plan_id
where i.status in ('active', 'past_due') and not i.is_free_trial and p.has_base_fee
group by 1, 2 order by mrr desc;

\echo '== The waitlist: who joined in the last 4 weeks, and where they are now'
select status, count(*) as entries
from clerk.waitlist_entries
where created_at > now() - interval '4 weeks'
group by 1 order by 2 desc;
