-- The waitlist funnel per week: who joined, and how many of them were
-- invited, completed sign-up or were turned away. One scan of
-- /waitlist_entries.
create view waitlist_funnel_per_week as
select date_trunc('week', created_at) as week,
       count(*) as joined,
       count(*) filter (where status in ('invited', 'completed')) as invited,
       count(*) filter (where status = 'completed') as completed,
       count(*) filter (where status = 'rejected') as rejected
from clerk.waitlist_entries
group by 1;

-- Still waiting, oldest first: one request with status=pending, sorted by
-- Clerk.
create view waiting_longest as
select email_address, created_at
from clerk.waitlist_entries
where status = 'pending'
order by created_at
limit 20;
