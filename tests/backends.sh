# Shared harness of the end-to-end shell tests (sourced, not run): pass/fail counting, a scratch
# directory removed at exit, and running a test's `run_backend KIND DB` function on SQLite and,
# when TRIAL_TEST_PG_URL is set, on a fresh PostgreSQL database created with psql and dropped at
# exit. Without the URL PostgreSQL is skipped with the reason, or FAILS when TRIAL_REQUIRE_PG=1
# (make test starts a cluster: scripts/with-pg-cluster).
# Usage: source tests/backends.sh; define run_backend; run_on_backends NAME; finish
PSQL="${PSQL:-psql}"
pass=0
fail=0
check() { # check NAME CONDITION-EXIT-STATUS
  if [[ "$2" -eq 0 ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
tmp="$(mktemp -d)"
pg_admin_url=""
pg_db=""
cleanup() {
  if [[ -n "$pg_db" ]]; then
    "$PSQL" -q "$pg_admin_url" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Runs SQL behind the system's back (sqlite3 shell or psql); prints the result rows unaligned.
raw_sql() { # raw_sql KIND DB SQL
  if [[ "$1" == sqlite ]]; then
    sqlite3 "$2" "$3"
  else
    "$PSQL" -q -tA "$2" -c "$3"
  fi
}

run_on_backends() { # run_on_backends NAME: NAME prefixes the PostgreSQL database's name
  run_backend sqlite "$tmp/trial.db"
  if [[ -n "${TRIAL_TEST_PG_URL:-}" ]]; then
    pg_admin_url="$TRIAL_TEST_PG_URL"
    pg_db="$1_$$_$RANDOM"
    "$PSQL" -q "$pg_admin_url" -c "CREATE DATABASE $pg_db" >/dev/null
    check "postgres: CREATE DATABASE $pg_db" $?
    # The server's URL with its database replaced by ours (query parameters kept).
    local pg_url
    pg_url=$(sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$pg_db#" <<<"$pg_admin_url")
    run_backend postgres "$pg_url"
  elif [[ "${TRIAL_REQUIRE_PG:-}" == 1 ]]; then
    echo "FAIL: TRIAL_TEST_PG_URL not set but TRIAL_REQUIRE_PG=1 (make test should have started a cluster: see scripts/with-pg-cluster)"
    fail=$((fail + 1))
  else
    echo "SKIP postgres: TRIAL_TEST_PG_URL not set (make test starts a cluster)"
  fi
}

finish() {
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
}
