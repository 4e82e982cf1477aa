-- A small dashboard pack of views for a BI tool.

-- Sign-ups per week.
create view dashboard_signups_per_week as
select date_trunc('week', created_at) as week, count(*) as signups
from clerk.users
group by 1;

-- Weekly active users, from Clerk's last_active_at (day precision): users
-- whose last activity falls in each of the last 12 weeks.
create view dashboard_weekly_active_users as
select date_trunc('week', last_active_at) as week, count(*) as active_users
from clerk.users
where last_active_at > now() - interval '12 weeks'
group by 1;

-- Organization growth: new organizations per week and the running total.
create view dashboard_organization_growth as
select week, new_organizations,
       sum(new_organizations) over (order by week) as total_organizations
from (
  select date_trunc('week', created_at) as week, count(*) as new_organizations
  from clerk.organizations
  group by 1
) w;
