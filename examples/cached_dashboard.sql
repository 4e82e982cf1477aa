-- Caching for dashboards: a materialized view answers every dashboard
-- refresh from Postgres, and only the scheduled refresh asks Clerk.
-- Run dashboard.sql first.

create materialized view dashboard_signups_per_week_cached as
select * from dashboard_signups_per_week;

-- A unique index lets REFRESH ... CONCURRENTLY keep the view readable
-- while it refreshes.
create unique index on dashboard_signups_per_week_cached (week);

refresh materialized view concurrently dashboard_signups_per_week_cached;

-- Refresh every 15 minutes, with the pg_cron extension:
--   select cron.schedule('clerk-dashboard', '*/15 * * * *',
--     'refresh materialized view concurrently dashboard_signups_per_week_cached');
