-- Time ranges on users, in a fixed time zone: constants become exact
-- millisecond bounds, run-time values `$n`.
set time zone 'Europe/Paris';
explain (verbose, costs off) select id from clerk.users where created_at > '2026-01-01 00:00:00+00';
explain (verbose, costs off) select id from clerk.users where created_at >= '2026-01-01' and created_at < '2026-02-01';
explain (verbose, costs off) select id from clerk.users where created_at between '2026-01-01' and '2026-01-31';
explain (verbose, costs off) select id from clerk.users where last_sign_in_at > now() - interval '30 days';
explain (verbose, costs off) select id from clerk.users where last_active_at <= timestamp '2026-03-01';
explain (verbose, costs off) select id from clerk.users where created_at >= date '2026-01-14';
explain (verbose, costs off) select id from clerk.users where created_at >= cast((now() + interval '-90 day') as date);
explain (verbose, costs off) select id from clerk.users where created_at::date = date '2026-01-14';
explain (verbose, costs off) select id from clerk.users where date_trunc('month', created_at) = timestamptz '2026-01-01';
explain (verbose, costs off) select id from clerk.users where extract(epoch from created_at) > 1767225600;
explain (verbose, costs off) select id from clerk.users where created_at::timestamp < timestamp '2026-01-01';
reset time zone;
