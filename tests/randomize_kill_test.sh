#!/usr/bin/env bash
# Randomization under kill -9 through the real `trial` executable (issue 4): a writer process
# group randomizes eligible subjects one after another (each `trial randomize` with the request
# id `req-<subject>`, which also hands out a kit) and is killed with SIGKILL at a random moment,
# several rounds. Then every subject is randomized again with the same request id, as a client
# whose connection dropped would retry. Afterwards: each subject holds exactly one allocation and
# one kit; a retry returned the allocation the first attempt made; no list slot and no kit is
# used twice; each stratum's positions run 1..n without a gap; `trial audit verify` and `trial
# randomization verify` pass.
# Runs on SQLite, and on PostgreSQL when TRIAL_TEST_PG_URL is set (tests/backends.sh).
# Usage: tests/randomize_kill_test.sh PATH/TO/trial   (run from the repository root)
set -uo pipefail
TRIAL="$(realpath "$1")"
ROUNDS="${KILL_ROUNDS:-3}"
SUBJECTS="${KILL_SUBJECTS:-24}"
PROTOCOL="protocols/promis-mda5"
SEED="00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
# shellcheck source=tests/backends.sh
source "$(dirname "$0")/backends.sh"

run_backend() { # run_backend KIND DB
  local kind="$1" db="$2"
  T() { "$TRIAL" "$@" --db "$db"; }
  echo "== $kind"
  T init --admin admin >/dev/null &&
    T site add S1 --user admin --name "Site One" >/dev/null &&
    T user add coord --user admin --role coordinator --sites S1 >/dev/null
  check "$kind: init, site, user" $?
  local n
  for ((n = 1; n <= SUBJECTS; n++)); do
    T subject add --site S1 --number "K$n" --user coord >/dev/null &&
      T screen examples/eligible-female.json --screening-date 2026-07-06 \
        --randomization-date 2026-07-13 --save --subject "$n" --user coord \
        --protocol "$PROTOCOL" >/dev/null 2>&1 || break
  done
  [[ $n -gt $SUBJECTS ]]
  check "$kind: $SUBJECTS subjects screened eligible" $?
  T randomization golive --user admin --seed "$SEED" --protocol "$PROTOCOL" >/dev/null &&
    T kit generate --count $((2 * SUBJECTS + 20)) --lot L1 --expiry 2099-12-31 --user admin \
      --seed "$SEED" --protocol "$PROTOCOL" >/dev/null &&
    T kit ship --site S1 --count $((2 * SUBJECTS + 20)) --user admin --protocol "$PROTOCOL" \
      >/dev/null &&
    T kit receive --shipment SH-0001 --user coord >/dev/null
  check "$kind: go-live and kits at the site" $?

  local acked="$tmp/$kind.acked" next=1 round
  : >"$acked"
  for ((round = 1; round <= ROUNDS && next <= SUBJECTS; round++)); do
    # The writer: its own process group (setsid), so kill -9 -PGID takes the loop and the
    # `trial randomize` running at that instant. It prints "<subject> <number> <kit>" per success.
    setsid bash -c '
      for ((s = $1; s <= $2; s++)); do
        ild=present; (( s % 2 )) && ild=absent
        if out=$("$3" randomize --db "$4" --subject "$s" --ild "$ild" --user coord \
                   --request-id "req-$s" --protocol "$5" 2>/dev/null); then
          echo "$s $out" >>"$6"
        fi
      done' writer "$next" "$SUBJECTS" "$TRIAL" "$db" "$PROTOCOL" "$acked" &
    local pid=$!
    local before
    before=$(wc -l <"$acked")
    for ((i = 0; i < 200 && $(wc -l <"$acked") <= before; i++)); do sleep 0.05; done
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid"
    wait "$pid" 2>/dev/null
    next=$(($(tail -1 "$acked" | cut -d' ' -f1) + 1))
    T audit verify >/dev/null 2>"$tmp/err"
    check "$kind round $round: audit verify after the kill ($(cat "$tmp/err"))" $?
  done
  echo "$kind: $(wc -l <"$acked") acknowledged randomizations before the retries"

  # The retries: every subject again with its request id.
  local s out same=0 differ=0
  for ((s = 1; s <= SUBJECTS; s++)); do
    local ild=present
    ((s % 2)) && ild=absent
    out=$(T randomize --subject "$s" --ild "$ild" --user coord --request-id "req-$s" \
      --protocol "$PROTOCOL" 2>"$tmp/err")
    check "$kind: retry of subject $s exits 0 ($(cat "$tmp/err"))" $?
    local first
    first=$(grep "^$s " "$acked" | cut -d' ' -f2-)
    if [[ -n "$first" ]]; then
      if [[ "$first" == "$out" ]]; then same=$((same + 1)); else differ=$((differ + 1)); fi
    fi
  done
  [[ $differ -eq 0 ]]
  check "$kind: every retry returned the first attempt's number and kit ($same same, $differ differ)" $?
  [[ "$(raw_sql "$kind" "$db" "SELECT count(*), count(DISTINCT subject_id) FROM allocations" | tr '|' ' ')" == "$SUBJECTS $SUBJECTS" ]]
  check "$kind: one allocation per subject" $?
  [[ "$(raw_sql "$kind" "$db" "SELECT count(*), count(DISTINCT kit_number), count(DISTINCT subject_id) FROM dispensings" | tr '|' ' ')" == "$SUBJECTS $SUBJECTS $SUBJECTS" ]]
  check "$kind: one kit per subject, no kit twice" $?
  [[ -z "$(raw_sql "$kind" "$db" "SELECT stratum FROM allocations GROUP BY stratum HAVING max(position) <> count(*)")" ]]
  check "$kind: each stratum's positions run 1..n" $?
  [[ "$(raw_sql "$kind" "$db" "SELECT count(*) FROM dispensings d JOIN kits k ON k.kit_number = d.kit_number JOIN allocations a ON a.subject_id = d.subject_id JOIN rand_slots s ON s.stratum = a.stratum AND s.position = a.position WHERE k.arm <> s.arm")" == 0 ]]
  check "$kind: every kit is of its subject's arm" $?
  T audit verify >/dev/null
  check "$kind: audit verify" $?
  T randomization verify --protocol "$PROTOCOL" >/dev/null
  check "$kind: randomization verify" $?
}

run_on_backends randkill
finish
