-- The install script of clerk_fdw 0.2.0, kept as released so that the test
-- suite can install it and check `ALTER EXTENSION clerk_fdw UPDATE` against
-- a fresh install of the current version (see sql/README.md).
\echo Use "CREATE EXTENSION clerk_fdw VERSION '0.2.0'" to load this file. \quit

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

CREATE OR REPLACE FUNCTION "clerk_fdw_validator"(
	"options" TEXT[],
	"catalog" oid
) RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_validator_wrapper';
CREATE FUNCTION "clerk_fdw_stats"() RETURNS TABLE (
	"server" TEXT,
	"request_budget" TEXT,
	"requests" bigint,
	"retries" bigint,
	"rate_limited" bigint,
	"errors" bigint,
	"bytes_received" bigint,
	"rows" bigint,
	"budget_wait_seconds" double precision
)
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_stats_wrapper';

-- Sets those counters back to zero, for one server or all; superusers only
-- unless granted.
CREATE FUNCTION "clerk_fdw_stats_reset"(
	"server" TEXT DEFAULT NULL
) RETURNS void
LANGUAGE c
AS 'MODULE_PATHNAME', 'clerk_fdw_stats_reset_wrapper';
REVOKE ALL ON FUNCTION clerk_fdw_stats_reset(text) FROM PUBLIC;
