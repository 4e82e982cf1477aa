-- "Drop your users table": the app keeps only Clerk user ids, and a view
-- stands where the old users table was. Queries that join it to one
-- user (or a handful) become id lookups at Clerk.

create table app_projects (
  id bigint generated always as identity primary key,
  owner_clerk_id text not null,   -- the Clerk user id, nothing else about the user
  name text not null
);

create view app_users as
select id, email, first_name, last_name, username, image_url, created_at, last_sign_in_at, banned
from clerk.users;

-- Projects with their owners, as the app used to ask its own users table.
create view projects_with_owners as
select p.id, p.name, u.email as owner_email, u.first_name as owner_first_name
from app_projects p
join app_users u on u.id = p.owner_clerk_id;
