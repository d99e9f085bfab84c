#!/usr/bin/env bash
# Blinding through the real `trial` executable (issue 4): a small trial is set up (two sites,
# a user of every role, screened and randomized subjects, one emergency unblinding), then every
# command a blinded role may run is run as each blinded user, and everything it printed (stdout
# and stderr, text and JSON) is searched for the arms: their ids and names from protocol.yaml and
# any "arm" value that is not "<blinded>". Positive controls check that the search would find a
# leak: the unblinded pharmacist's audit trail and the investigator's `unblind` output do show
# the arm.
# Runs on SQLite, and on PostgreSQL when TRIAL_TEST_PG_URL is set (see store_kill_test.sh).
# Usage: tests/blinding_test.sh PATH/TO/trial   (run from the repository root)
set -uo pipefail
TRIAL="$(realpath "$1")"
PROTOCOL="protocols/promis-mda5"
SEED="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
# shellcheck source=tests/backends.sh
source "$(dirname "$0")/backends.sh"

# The arm ids and names, read from the protocol (not hard-coded): lines under `arms:` with
# `id:` or `name:` keys, up to the next top-level key.
arm_words=$(awk '/^arms:/{on=1; next} /^[^ #]/{on=0} on && /^ *-? *(id|name): /{sub(/^ *-? *(id|name): */, ""); print}' \
  "$PROTOCOL/protocol.yaml")
pattern=$(paste -sd'|' <<<"$arm_words")
[[ $(wc -l <<<"$arm_words") -ge 4 ]]
check "the protocol names at least two arms with ids and names ($pattern)" $?

# leak_free NAME FILE: FILE holds no arm id or name (whole words, any case) and no arm value.
leak_free() {
  if grep -qiwE "$pattern" "$2" || grep -qE '"(drawn_)?arm": *"[^<]' "$2"; then
    echo "FAIL: $1 reveals an arm:"
    grep -iwE "$pattern|\"(drawn_)?arm\"" "$2" | head -3
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
}

run_backend() { # run_backend KIND DB
  local kind="$1" db="$2"
  T() { "$TRIAL" "$@" --db "$db"; }
  echo "== $kind"
  T init --admin admin --name "Ada Admin" >/dev/null
  check "$kind: init" $?
  T site add S1 --user admin --name "Site One" >/dev/null &&
    T site add S2 --user admin --name "Site Two" >/dev/null
  check "$kind: sites" $?
  local role
  for role in coordinator investigator unblinded_pharmacist monitor; do
    T user add "$role" --user admin --role "$role" --sites S1,S2 >/dev/null
    check "$kind: user $role" $?
  done
  for role in data_manager blinded_statistician unblinded_statistician dsmb_member sponsor_viewer; do
    T user add "$role" --user admin --role "$role" >/dev/null
    check "$kind: user $role" $?
  done
  # Four eligible subjects (the two eligible examples, twice each), one screen failure.
  local n ids=()
  for n in 1 2 3 4; do
    local ex=examples/eligible-male.json
    [[ $((n % 2)) -eq 0 ]] && ex=examples/eligible-female.json
    local site=S$(((n - 1) / 2 + 1))
    T subject add --site "$site" --number "00$n" --user coordinator >/dev/null
    local id
    id=$(T subject list --site "$site" --format json | grep -o '"id": *[0-9]*' | tail -1 | grep -o '[0-9]*$')
    ids+=("$id")
    T screen "$ex" --screening-date 2026-07-06 --randomization-date 2026-07-13 --save \
      --subject "$id" --user coordinator --protocol "$PROTOCOL" >/dev/null
    check "$kind: subject $id screened eligible" $?
  done
  T subject add --site S1 --number 009 --user coordinator >/dev/null
  T randomization golive --user admin --seed "$SEED" --protocol "$PROTOCOL" >/dev/null
  check "$kind: go-live" $?
  # Kits at both sites: each randomization hands out a kit.
  T kit generate --count 24 --lot LOT-1 --expiry 2030-12-31 --user admin --seed "$SEED" \
    --protocol "$PROTOCOL" >/dev/null
  check "$kind: kits generated" $?
  local site ship
  for site in S1 S2; do
    ship=$(T kit ship --site "$site" --count 10 --user admin --protocol "$PROTOCOL" | grep -o 'SH-[0-9]*' | head -1)
    T kit receive --shipment "$ship" --user coordinator >/dev/null
    check "$kind: kits shipped to and received at $site ($ship)" $?
  done

  # Everything a blinded user runs, recorded per user.
  local out="$tmp/$kind"
  mkdir -p "$out"
  local i=0
  for id in "${ids[@]}"; do
    local ild=present
    [[ $((i % 2)) -eq 1 ]] && ild=absent
    T randomize --subject "$id" --ild "$ild" --user coordinator --protocol "$PROTOCOL" \
      >>"$out/coordinator" 2>&1
    check "$kind: randomize subject $id" $?
    i=$((i + 1))
  done
  grep -q "K-[0-9]\{6\}" "$out/coordinator"
  check "$kind: randomize prints the kit handed out" $?
  T kit dispense --subject "${ids[0]}" --visit W2 --date "$(date -u -d "+14 days" +%F)" --user coordinator \
    --protocol "$PROTOCOL" >>"$out/coordinator" 2>&1
  check "$kind: a kit dispensed at W2" $?
  # A kit of the other site, then a kit chosen at random: refused without naming an arm.
  local other
  other=$(T kit list --site S2 --user coordinator --format json | grep -o 'K-[0-9]*' | head -1)
  T kit dispense --subject "${ids[0]}" --visit W4 --date "$(date -u -d "+28 days" +%F)" --user coordinator \
    --kit "$other" --protocol "$PROTOCOL" >>"$out/coordinator" 2>&1
  for other in $(T kit list --site S1 --user coordinator --format json | grep -o 'K-[0-9]*' | head -6); do
    T kit dispense --subject "${ids[0]}" --visit W4 --date "$(date -u -d "+28 days" +%F)" --user coordinator \
      --kit "$other" --request-id "try-$other" --protocol "$PROTOCOL" >>"$out/coordinator" 2>&1
  done
  grep -q "does not match subject ${ids[0]}'s allocation" "$out/coordinator"
  check "$kind: a kit of the other arm is refused (blinded message)" $?
  # Refusals print messages too: they must not leak either.
  T randomize --subject "${ids[0]}" --ild present --user coordinator --protocol "$PROTOCOL" \
    >>"$out/coordinator" 2>&1
  T unblind --subject "${ids[1]}" --user coordinator --reason "trying" >>"$out/coordinator" 2>&1
  T unblind --subject "${ids[1]}" --user monitor --reason "trying" >>"$out/monitor" 2>&1
  # The emergency unblinding: the investigator sees this subject's arm (positive control).
  T unblind --subject "${ids[0]}" --user investigator --reason "anaphylaxis in the emergency room" \
    >"$tmp/unblind.out" 2>&1
  check "$kind: emergency unblinding" $?
  grep -qiwE "$pattern" "$tmp/unblind.out"
  check "$kind: the unblinding prints the arm (the search would see a leak)" $?

  local u fmt
  for u in coordinator investigator monitor data_manager blinded_statistician dsmb_member \
    sponsor_viewer admin; do
    for fmt in text json; do
      T audit show --user "$u" --format "$fmt" >>"$out/$u" 2>&1
      T subject list --format "$fmt" >>"$out/$u" 2>&1
      T kit list --user "$u" --format "$fmt" >>"$out/$u" 2>&1
      T kit stock --user "$u" --date "$(date -u -d "+7 days" +%F)" --format "$fmt" --protocol "$PROTOCOL" >>"$out/$u" 2>&1
      for id in "${ids[@]}"; do
        T audit show --user "$u" --subject "$id" --format "$fmt" >>"$out/$u" 2>&1
        T subject show "$id" --format "$fmt" >>"$out/$u" 2>&1
      done
    done
    grep -q "unblind.emergency" "$out/$u"
    check "$kind: $u's audit trail lists the unblinding event" $?
    grep -q '"<blinded>"\|<blinded>' "$out/$u"
    check "$kind: $u's audit trail shows the arm as <blinded>" $?
    leak_free "$kind: everything $u ran" "$out/$u"
  done
  grep -q "K-[0-9]\{6\}" "$out/investigator"
  check "$kind: the investigator's kit list shows kits" $?
  # Positive control: the unblinded pharmacist's kit list and stock show arms.
  T kit list --user unblinded_pharmacist --format json >"$tmp/pharm-kits.out" 2>&1
  grep -qiwE "$pattern" "$tmp/pharm-kits.out"
  check "$kind: the unblinded pharmacist's kit list shows arms" $?
  # Positive control: an unblinded role sees the arm in the audit trail.
  T audit show --user unblinded_pharmacist --format json >"$tmp/pharm.out" 2>&1
  grep -qiwE "$pattern" "$tmp/pharm.out"
  check "$kind: the unblinded pharmacist's audit trail shows the arm" $?
  # An unknown acting user gets nothing.
  T audit show --user nobody >"$tmp/nobody.out" 2>&1
  [[ $? -ne 0 ]] && grep -q "unknown user 'nobody'" "$tmp/nobody.out"
  check "$kind: audit show by an unknown user is refused" $?
  T audit verify >/dev/null
  check "$kind: audit verify" $?
  T randomization verify --protocol "$PROTOCOL" >/dev/null
  check "$kind: randomization verify" $?
}

run_on_backends blind
finish
