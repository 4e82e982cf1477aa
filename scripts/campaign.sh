#!/usr/bin/env bash
# A long differential campaign: the corpus of the SQL test
# differential_corpus_matches_a_local_copy with another seed and size.
#   bash scripts/campaign.sh [seed] [statements]     (default: random seed, 20000)
# PG_VERSION chooses the PostgreSQL major, as for scripts/test.sh.
# Prints the summary (statements per category, discrepancies) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-$RANDOM$RANDOM}
statements=${2:-20000}
echo "campaign: seed $seed, $statements statements"
# Only CARGO*/RUST* variables reach the test cluster's backends.
status=0
RUST_CLERK_FDW_DIFF_SEED=$seed RUST_CLERK_FDW_DIFF_STATEMENTS=$statements \
  bash scripts/test.sh differential_corpus_matches_a_local_copy || status=$?
source scripts/pg-env.sh
cat "/tmp/clerk_fdw-differential-pg$PG_VERSION-seed$seed.txt" 2>/dev/null ||
  echo "campaign: no summary (the test did not get to the end)"
exit $status
