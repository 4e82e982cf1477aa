-- A schema per user, created when Clerk's user.created webhook reaches the
-- mirror, as the seed articles create a database per user. Plain Postgres on
-- top of the mirror's tables: nothing here is part of clerk_fdw.
--
-- Expects a mirror of users, organizations and organization_memberships in
-- schema clerk_local (clerk_fdw.create_mirror).
-- After running it, `call tenants.catch_up();` gives the users already
-- mirrored their schema. Adapt: the template's tables, the schema names,
-- and what user.deleted does (here the schema is dropped; to archive
-- instead, see tenants.remove).

create schema if not exists tenants;

-- What each tenant schema starts with. Each tenant's tables inherit from
-- these, so a query on the template's table reads every tenant's rows.
create schema if not exists tenant_template;
create table if not exists tenant_template.todos (
  id bigint generated always as identity primary key,
  title text not null,
  done boolean not null default false,
  created_at timestamptz not null default now()
);

-- One row per user that has a schema.
create table if not exists tenants.tenants (
  user_id text primary key,
  schema_name name not null unique,
  created_at timestamptz not null default now()
);

-- The seed's md5 of the user id, so that names are short and safe.
create or replace function tenants.schema_name(user_id text) returns name
  language sql immutable strict
  return ('tenant_' || md5(user_id))::name;

-- Makes sure the user's schema exists and returns its name: from the
-- webhook's trigger, or on the user's first request when the webhook has
-- not arrived yet (the seed's "make sure the database exists on login").
-- Two calls at once are safe: the second waits on the first's row, then
-- finds it. It runs as its owner, who may create schemas: the role that
-- receives webhooks needs no such right.
create or replace function tenants.ensure(user_id text) returns name
  language plpgsql strict security definer
  set search_path = pg_catalog, pg_temp set client_min_messages = warning as $$
declare
  schema name := tenants.schema_name(user_id);
  template record;
begin
  insert into tenants.tenants (user_id, schema_name) values (user_id, schema)
  on conflict do nothing;
  if not found then
    return schema;  -- it already has one
  end if;
  execute format('create schema %I', schema);
  for template in
    select c.relname from pg_class c
    where c.relnamespace = 'tenant_template'::regnamespace and c.relkind = 'r'
  loop
    -- Its own identity, defaults, keys and indexes (LIKE), and its rows in
    -- the template's table (INHERITS).
    execute format('create table %I.%I (like tenant_template.%I including all) inherits (tenant_template.%I)',
                   schema, template.relname, template.relname, template.relname);
  end loop;
  return schema;
end $$;

-- What user.deleted does: drop the schema and its data. To archive
-- instead, replace the drop with
--   execute format('alter schema %I rename to %I', gone.schema_name, 'archived_' || gone.schema_name);
create or replace function tenants.remove(user_id text) returns void
  language plpgsql strict security definer
  set search_path = pg_catalog, pg_temp set client_min_messages = warning as $$
declare
  gone tenants.tenants;
begin
  delete from tenants.tenants t where t.user_id = remove.user_id returning * into gone;
  if found then
    execute format('drop schema %I cascade', gone.schema_name);
  end if;
end $$;

-- The mirror's users table changes by webhook (user.created, user.deleted:
-- one user per transaction) and by sync_mirror (every user it finds new or
-- gone, in one transaction). Each schema takes a few locks until the
-- transaction ends, so one transaction makes or drops at most 100 here;
-- tenants.catch_up() does the rest in transactions of its own.
create or replace function tenants.on_user_change() returns trigger
  language plpgsql as $$
declare
  done int := coalesce(nullif(current_setting('tenants.changed_in_transaction', true), ''), '0')::int;
begin
  if done >= 100 then
    return null;
  end if;
  perform set_config('tenants.changed_in_transaction', (done + 1)::text, true);
  if tg_op = 'INSERT' then
    perform tenants.ensure(new.id);
  elsif tg_op = 'DELETE' then
    perform tenants.remove(old.id);
  end if;
  return null;
end $$;

drop trigger if exists tenant_schemas on clerk_local.users;
create trigger tenant_schemas after insert or delete on clerk_local.users
  for each row execute function tenants.on_user_change();

-- Makes the schemas of users who have none (mirrored before the trigger
-- existed, or past a transaction's 100), and drops those of users Clerk
-- deleted (the mirror keeps their tombstones for 7 days; a schema made on
-- demand for a user not mirrored yet stays), committing every `batch`.
-- Run it once after installing this file, and after a large sync (or from
-- pg_cron): `call tenants.catch_up();`.
create or replace procedure tenants.catch_up(batch int default 100)
  language plpgsql as $$
declare
  n int;
begin
  loop
    select count(tenants.ensure(u.id)) into n
    from (select u.id from clerk_local.users u
          where not exists (select 1 from tenants.tenants t where t.user_id = u.id)
          limit batch) u;
    commit;
    exit when n = 0;
  end loop;
  loop
    select count(tenants.remove(t.user_id)) into n
    from (select t.user_id from tenants.tenants t
          join clerk_local_sync.versions v on v.object = 'users' and v.id = t.user_id and v.deleted
          limit batch) t;
    commit;
    exit when n = 0;
  end loop;
end $$;

-- The report across every tenant, joined with the users' and organizations'
-- Clerk data in one query (seed 003's report over every ATTACHed database):
-- todos per user, with the user's email, sign-up week and organizations.
create or replace view tenants.todos_per_user as
select u.id as user_id,
       u.email,
       date_trunc('week', u.created_at)::date as signup_week,
       (select string_agg(o.name, ', ' order by o.name)
          from clerk_local.organization_memberships m
          join clerk_local.organizations o on o.id = m.organization_id
         where m.user_id = u.id) as organizations,
       count(td.id) as todos,
       count(td.id) filter (where td.done) as done
from tenants.tenants t
join clerk_local.users u on u.id = t.user_id
left join tenant_template.todos td
  on td.tableoid = (quote_ident(t.schema_name) || '.todos')::regclass
group by u.id, u.email, u.created_at;
