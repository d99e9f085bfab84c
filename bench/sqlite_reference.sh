#!/usr/bin/env bash
# The physical reference for the store benchmark (bench/store_bench.cc): the `sqlite3` shell
# inserting N rows, ONE transaction each, with the durability the store uses (WAL,
# synchronous=FULL), into a fresh file in DIR. Prints rows/s. Run it on the same disk as the
# benchmark's files (its default DIR is the benchmark's default, the system temp dir).
# Usage: bench/sqlite_reference.sh [N=1000] [DIR=${TRIAL_BENCH_DIR:-${TMPDIR:-/tmp}}]
# Uses hyperfine for the timing when installed (3 runs, mean), else date +%s.%N (one run).
set -euo pipefail
N="${1:-1000}"
DIR="${2:-${TRIAL_BENCH_DIR:-${TMPDIR:-/tmp}}}"
command -v sqlite3 >/dev/null || {
  echo "sqlite3 not found (apt-get install sqlite3)" >&2
  exit 1
}
mkdir -p "$DIR"
work="$(mktemp -d "$DIR/trial-sqlite-ref.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# A table shaped like the store's item_data; the file is put in WAL mode (persistent).
sqlite3 "$work/ref.db" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
CREATE TABLE item_data (subject_id INTEGER NOT NULL, visit TEXT NOT NULL, form TEXT NOT NULL,
  rep INTEGER NOT NULL, item TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL,
  at TEXT NOT NULL, PRIMARY KEY (subject_id, visit, form, rep, item, version));
SQL
{
  echo "PRAGMA journal_mode=WAL;"
  echo "PRAGMA synchronous=FULL;"
  for ((i = 1; i <= N; i++)); do
    echo "BEGIN; INSERT INTO item_data VALUES (1, 'W1', 'bench', 0, 'i$i', 1, '42', '2026-07-01T00:00:00.000000Z'); COMMIT;"
  done
} >"$work/insert.sql"
# The same script again on a clean table, for repeated (hyperfine) runs.
prepare="sqlite3 '$work/ref.db' 'DELETE FROM item_data; PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null"

if command -v hyperfine >/dev/null; then
  hyperfine --runs 3 --prepare "$prepare" --export-json "$work/h.json" \
    "sqlite3 '$work/ref.db' < '$work/insert.sql' > /dev/null" >&2
  seconds=$(grep -o '"mean": *[0-9.e+-]*' "$work/h.json" | head -1 | grep -o '[0-9.e+-]*$')
else
  eval "$prepare"
  start=$(date +%s.%N)
  sqlite3 "$work/ref.db" <"$work/insert.sql" >/dev/null
  end=$(date +%s.%N)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')
fi
rows=$(sqlite3 "$work/ref.db" "SELECT count(*) FROM item_data")
[[ "$rows" -eq "$N" ]] || {
  echo "expected $N rows, found $rows" >&2
  exit 1
}
awk -v n="$N" -v s="$seconds" -v d="$DIR" \
  'BEGIN { printf "sqlite3 reference: %d rows, one transaction each (WAL, synchronous=FULL) in %s: %.3f s, %.0f rows/s\n", n, d, s, n / s }'
