-- clerk_fdw's install script: the SQL that pgrx generates from the code,
-- without its comments (scripts/schema.sh writes it; scripts/test.sh checks
-- that it still matches the code).

CREATE OR REPLACE FUNCTION "clerk_fdw_handler"() RETURNS fdw_handler
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_handler_wrapper';

CREATE OR REPLACE FUNCTION "clerk_fdw_meta"() RETURNS TABLE (
	"name" TEXT,
	"version" TEXT,
	"author" TEXT,
	"website" TEXT
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_meta_wrapper';

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

CREATE  FUNCTION "clerk_fdw_stats_reset"(
	"server" TEXT DEFAULT NULL
) RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_stats_reset_wrapper';

REVOKE ALL ON FUNCTION clerk_fdw_stats_reset(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION "clerk_fdw_validator"(
	"options" TEXT[],
	"catalog" oid
) RETURNS void

LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_validator_wrapper';

CREATE SCHEMA IF NOT EXISTS clerk_fdw;

CREATE  FUNCTION clerk_fdw."receive_webhook"(
	"into_schema" TEXT,
	"body" TEXT,
	"headers" jsonb
) RETURNS jsonb
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'receive_webhook_wrapper';

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

CREATE VIEW clerk_fdw.mirror_status AS SELECT * FROM clerk_fdw.mirror_status_rows();

GRANT USAGE ON SCHEMA clerk_fdw TO PUBLIC;

GRANT SELECT ON clerk_fdw.mirror_status TO PUBLIC;

COMMENT ON VIEW clerk_fdw.mirror_status IS 'Per mirrored object: rows, the last event applied, event counts (kept 7 days), the last sync. events_ignored and deliveries_rejected are per mirror.';

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
