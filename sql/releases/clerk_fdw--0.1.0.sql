-- The install script of clerk_fdw 0.1.0, kept as released so that the test
-- suite can install it and check `ALTER EXTENSION clerk_fdw UPDATE` against
-- a fresh install of the current version (see sql/README.md).
\echo Use "CREATE EXTENSION clerk_fdw VERSION '0.1.0'" to load this file. \quit

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
