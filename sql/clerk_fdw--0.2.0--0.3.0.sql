-- clerk_fdw 0.2.0 -> 0.3.0: ALTER EXTENSION clerk_fdw UPDATE TO '0.3.0';
\echo Use "ALTER EXTENSION clerk_fdw UPDATE" to load this file. \quit

-- The mirror: plain tables kept current by Clerk's webhooks (see README,
-- "Mirror").
CREATE SCHEMA IF NOT EXISTS clerk_fdw;

CREATE  FUNCTION clerk_fdw."sync_mirror"(
	"into_schema" TEXT,
	"objects" TEXT[] DEFAULT NULL
) RETURNS TABLE (
	"object" TEXT,
	"inserted" bigint,
	"updated" bigint,
	"deleted" bigint,
	"unchanged" bigint,
	"requests" bigint,
	"seconds" double precision
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'sync_mirror_wrapper';

CREATE  FUNCTION clerk_fdw."mirror_status_rows"() RETURNS TABLE (
	"mirror" TEXT,
	"server" TEXT,
	"object" TEXT,
	"kept_by" TEXT,
	"rows" bigint,
	"last_event" TEXT,
	"last_event_at" timestamp with time zone,
	"events_applied" bigint,
	"events_duplicate" bigint,
	"events_stale" bigint,
	"last_sync_at" timestamp with time zone,
	"last_sync" TEXT,
	"events_ignored" bigint,
	"deliveries_rejected" bigint
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'mirror_status_rows_wrapper';

CREATE  FUNCTION clerk_fdw."create_mirror"(
	"server" TEXT,
	"into_schema" TEXT,
	"objects" TEXT[] DEFAULT NULL
) RETURNS TABLE (
	"object" TEXT,
	"mirror_table" TEXT,
	"kept_by" TEXT
)
LANGUAGE c
AS 'MODULE_PATHNAME', 'create_mirror_wrapper';

CREATE  FUNCTION clerk_fdw."receive_webhook"(
	"into_schema" TEXT,
	"body" TEXT,
	"headers" jsonb
) RETURNS jsonb
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'receive_webhook_wrapper';


CREATE VIEW clerk_fdw.mirror_status AS SELECT * FROM clerk_fdw.mirror_status_rows();
-- Every role may call the mirror's functions and read the status (which
-- lists only the mirrors it may read); the mirror's own tables decide the rest.
GRANT USAGE ON SCHEMA clerk_fdw TO PUBLIC;
GRANT SELECT ON clerk_fdw.mirror_status TO PUBLIC;
COMMENT ON VIEW clerk_fdw.mirror_status IS 'Per mirrored object: rows, the last event applied, event counts (kept 7 days), the last sync. events_ignored and deliveries_rejected are per mirror.';

-- Writes (see README, "Writing to Clerk") are counted by clerk_fdw_stats().
DROP FUNCTION clerk_fdw_stats();
CREATE  FUNCTION "clerk_fdw_stats"() RETURNS TABLE (
	"server" TEXT,
	"request_budget" TEXT,
	"requests" bigint,
	"retries" bigint,
	"rate_limited" bigint,
	"errors" bigint,
	"bytes_received" bigint,
	"rows" bigint,
	"budget_wait_seconds" double precision,
	"writes" bigint,
	"write_errors" bigint
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_stats_wrapper';
