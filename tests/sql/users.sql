-- The users list: each pushable filter of the README's table, as the
-- request it becomes. Postgres re-checks every clause (Filter).
explain (verbose, costs off) select id, email from clerk.users;
-- Plain EXPLAIN shows no request, as postgres_fdw shows Remote SQL only
-- under VERBOSE.
explain (costs off) select id from clerk.users where id = 'user_1';
explain (verbose, costs off) select id from clerk.users where id = 'user_1';
explain (verbose, costs off) select id from clerk.users where id in ('user_1', 'user_2');
explain (verbose, costs off) select id from clerk.users where id = any(array(select 'user_' || g from generate_series(1, 3) g));
explain (verbose, costs off) select id from clerk.users where external_id = 'ext_1';
explain (verbose, costs off) select id from clerk.users where email = 'a@example.com';
explain (verbose, costs off) select id from clerk.users where username in ('ann', 'bob');
explain (verbose, costs off) select id from clerk.users where phone_number = '+15555550100';
explain (verbose, costs off) select id from clerk.users where banned;
explain (verbose, costs off) select id from clerk.users where not banned;
explain (verbose, costs off) select id from clerk.users where lower(email) = 'a@example.com';
explain (verbose, costs off) select id from clerk.users where upper(username) in ('ANN', 'BOB');
explain (verbose, costs off) select id from clerk.users where email like '%@acme.com';
explain (verbose, costs off) select id from clerk.users where lower(username) ilike 'ann%';
prepare search_box(text) as select id from clerk.users where email ilike '%' || $1 || '%';
explain (verbose, costs off) execute search_box('acme');
set plan_cache_mode = force_generic_plan;
explain (verbose, costs off) execute search_box('acme');
reset plan_cache_mode;
deallocate search_box;
-- Without pushdown nothing narrows: the whole list, every clause local.
explain (verbose, costs off) select id from clerk_off.users where id = 'user_1' and banned;
-- Only PostgreSQL's own operators and functions are recognised (by OID,
-- as postgres_fdw decides what it may ship): a user's `=` or `lower`
-- found first on the search_path is left to Postgres.
create schema mine;
create function mine.lower(text) returns text language plpgsql immutable as 'begin return $1; end';
create function mine.text_eq(text, text) returns boolean language plpgsql immutable as 'begin return $1 <> $2; end';
create operator mine.= (leftarg = text, rightarg = text, function = mine.text_eq);
set search_path = mine, pg_catalog, public;
explain (verbose, costs off) select id from clerk.users where id = 'user_1';
explain (verbose, costs off) select id from clerk.users where lower(email) = 'a@example.com';
explain (verbose, costs off) select id from clerk.users where created_at > now() - interval '30 days';
-- Here `=` means "differs": every user but one.
select count(*) from clerk.users where id = (select max(id) from clerk.users);
reset search_path;
