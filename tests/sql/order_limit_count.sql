-- ORDER BY, LIMIT and count(*) pushed to Clerk, and where they are not.
explain (verbose, costs off) select id, created_at from clerk.users order by created_at desc limit 10;
explain (verbose, costs off) select id, created_at from clerk.users order by created_at;
explain (verbose, costs off) select id from clerk.users where email ilike '%acme%' limit 10;
explain (verbose, costs off) select count(*) from clerk.users;
explain (verbose, costs off) select count(*) from clerk.users where created_at > now() - interval '30 days';
explain (verbose, costs off) select count(*) from clerk.users where email ilike '%acme%';
explain (verbose, costs off) select count(*) from clerk_off.users;
explain (verbose, costs off) select count(*) from clerk.organizations;
explain (verbose, costs off) select name, members_count from clerk.organizations order by members_count desc limit 10;
explain (verbose, costs off) select count(*) from clerk.organization_memberships;
explain (verbose, costs off) select id from clerk.waitlist_entries where status = 'pending' order by created_at desc limit 5;
explain (verbose, costs off) select count(*) from clerk.waitlist_entries;
