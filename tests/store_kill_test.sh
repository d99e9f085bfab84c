#!/usr/bin/env bash
# Crash and tamper checks of the trial store through the real `trial` executable:
#   1. kill -9: a writer process group runs `trial item record` in a loop; each value is appended
#      to an "acknowledged" file only after its command exited 0. The group is killed with SIGKILL
#      at a random moment mid-burst, several rounds. Afterwards every acknowledged value is in
#      `trial item history`, the versions run 1..N without gaps, and `trial audit verify` exits 0.
#   2. tampering: one data row and one audit row edited behind the system's back (sqlite3 shell,
#      psql) make `trial audit verify` exit 5 naming the event that wrote the row.
# Runs on SQLite, and on PostgreSQL when TRIAL_TEST_PG_URL is set (a fresh database is created
# with psql and dropped at the end); without it, PostgreSQL is skipped with the reason, or FAILS
# when TRIAL_REQUIRE_PG=1 (make test).
# Usage: tests/store_kill_test.sh PATH/TO/trial   (run from the repository root)
set -uo pipefail
TRIAL="$(realpath "$1")"
ROUNDS="${KILL_ROUNDS:-4}"
# shellcheck source=tests/backends.sh
source "$(dirname "$0")/backends.sh"

run_backend() { # run_backend KIND DB
  local kind="$1" db="$2"
  local T=("$TRIAL")
  echo "== $kind"
  "${T[@]}" init --db "$db" --admin admin --name "Ada Admin" >/dev/null
  check "$kind: init" $?
  "${T[@]}" site add S1 --db "$db" --user admin --name "Site One" >/dev/null
  check "$kind: site add" $?
  "${T[@]}" user add coord --db "$db" --user admin --role coordinator --sites S1 >/dev/null
  check "$kind: user add" $?
  "${T[@]}" subject add --db "$db" --user coord --site S1 --number 001 >/dev/null
  check "$kind: subject add" $?

  local acked="$tmp/$kind.acked" total=0
  : >"$acked"
  for ((round = 1; round <= ROUNDS; round++)); do
    local before
    before=$(wc -l <"$acked")
    # The writer: its own process group (setsid), so kill -9 -PGID takes the loop and the
    # `trial` it is running at that instant.
    setsid bash -c '
      n=$1
      while :; do
        n=$((n + 1))
        if "$2" item record --db "$3" --user coord --subject 1 --visit W1 --form vitals \
             --item weight --value "$n" --reason "round $4" >/dev/null 2>&1; then
          echo "$n" >>"$5"
        fi
      done' writer "$((round * 100000))" "$TRIAL" "$db" "$round" "$acked" &
    local pid=$!
    # Wait for the burst to be under way, then kill at a random moment in it.
    for ((i = 0; i < 200 && $(wc -l <"$acked") <= before; i++)); do sleep 0.05; done
    sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
    kill -0 "$pid" 2>/dev/null
    check "$kind round $round: writer still running when killed" $?
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid"
    wait "$pid" 2>/dev/null
    local after
    after=$(wc -l <"$acked")
    [[ $after -gt $before ]]
    check "$kind round $round: writes were acknowledged ($((after - before)))" $?
    total=$after

    # Every acknowledged value is stored; versions have no gaps; the chain verifies.
    "${T[@]}" item history --db "$db" --subject 1 --visit W1 --form vitals --item weight \
      >"$tmp/history" 2>"$tmp/err"
    check "$kind round $round: item history exits 0 ($(head -c 200 "$tmp/err"))" $?
    cut -f4 "$tmp/history" | sort >"$tmp/stored"
    sort "$acked" >"$tmp/acked.sorted"
    local lost
    lost=$(comm -23 "$tmp/acked.sorted" "$tmp/stored" | wc -l)
    [[ $lost -eq 0 ]]
    check "$kind round $round: no acknowledged write lost ($lost lost of $after)" $?
    [[ "$(cut -f1 "$tmp/history" | tr '\n' ' ')" == "$(seq -s ' ' 1 "$(wc -l <"$tmp/history")") " ]]
    check "$kind round $round: versions 1..N without gaps" $?
    "${T[@]}" audit verify --db "$db" >"$tmp/out" 2>"$tmp/err"
    check "$kind round $round: audit verify exits 0 ($(cat "$tmp/err"))" $?
  done
  echo "$kind: $total acknowledged writes over $ROUNDS killed bursts"

  # Tampering: a data row, then an audit row.
  local seq
  seq=$(raw_sql "$kind" "$db" "SELECT audit_seq FROM item_data WHERE version = 2")
  raw_sql "$kind" "$db" "UPDATE item_data SET value = 'tampered' WHERE version = 2"
  check "$kind: tamper a data row with the $kind shell" $?
  "${T[@]}" audit verify --db "$db" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  [[ $code -eq 5 ]]
  check "$kind: verify after a data row was changed exits 5 (got $code)" $?
  grep -q "event $seq\b" "$tmp/err"
  check "$kind: verify names event $seq ($(cat "$tmp/err"))" $?
  local value
  value=$(sed -n 2p "$tmp/history" | cut -f4)
  raw_sql "$kind" "$db" "UPDATE item_data SET value = '$value' WHERE version = 2"
  "${T[@]}" audit verify --db "$db" >/dev/null 2>&1
  check "$kind: verify passes again once the row is restored" $?

  seq=$(raw_sql "$kind" "$db" "SELECT audit_seq FROM sites WHERE id = 'S1'")
  raw_sql "$kind" "$db" \
    "UPDATE audit_events SET new_value = replace(new_value, 'Site One', 'Site 1') WHERE seq = $seq"
  "${T[@]}" audit verify --db "$db" >"$tmp/out" 2>"$tmp/err"
  code=$?
  [[ $code -eq 5 ]]
  check "$kind: verify after an audit row was changed exits 5 (got $code)" $?
  grep -q "event $seq\b" "$tmp/err"
  check "$kind: verify names event $seq ($(cat "$tmp/err"))" $?
}

run_on_backends kill
finish
