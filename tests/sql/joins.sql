-- Joins: a local table of ids, users of one organization, a user's
-- organizations, and keys known only at run time.
explain (verbose, costs off) select u.id, u.email from my_ids l join clerk.users u on u.id = l.clerk_id;
explain (verbose, costs off) select l.clerk_id, u.email from my_ids l left join clerk.users u on u.id = l.clerk_id;
explain (verbose, costs off) select count(*) from clerk.users u left join my_ids l on l.clerk_id = u.id;
explain (verbose, costs off) select u.id, m.role from clerk.organization_memberships m join clerk.users u on u.id = m.user_id where m.organization_id = 'org_1';
explain (verbose, costs off) select o.name from clerk.organization_memberships m join clerk.organizations o on o.id = m.organization_id where m.user_id = 'user_1';
explain (verbose, costs off) select id from clerk.users where id = (select clerk_id from my_ids order by 1 limit 1);
prepare by_id(text) as select id, email from clerk.users where id = $1;
set plan_cache_mode = force_generic_plan;
explain (verbose, costs off) execute by_id('user_1');
reset plan_cache_mode;
deallocate by_id;
