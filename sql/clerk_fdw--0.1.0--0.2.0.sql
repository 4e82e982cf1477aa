-- clerk_fdw 0.1.0 -> 0.2.0: ALTER EXTENSION clerk_fdw UPDATE TO '0.2.0';
\echo Use "ALTER EXTENSION clerk_fdw UPDATE" to load this file. \quit

-- What clerk_fdw did per Clerk server (requests, retries, 429s, bytes, rows,
-- time waited for the request budget).
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
