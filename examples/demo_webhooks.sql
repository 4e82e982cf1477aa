-- clerk_fdw demo, second part: a mirror kept current by webhooks, and a
-- schema per user (examples/per_user_schemas.sql). Expects the server
-- `clerk` of examples/demo.sql and the psql variable :webhook_secret.
\pset footer off
alter user mapping for public server clerk options (add webhook_secret :'webhook_secret');
select object, mirror_table from clerk_fdw.create_mirror('clerk', 'clerk_local',
  array['users', 'organizations', 'organization_memberships']);
set client_min_messages = warning;
select object, inserted, requests from clerk_fdw.sync_mirror('clerk_local');
\i examples/per_user_schemas.sql
reset client_min_messages;
