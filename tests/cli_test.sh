#!/usr/bin/env bash
# End-to-end checks of the `trial` executable as a user runs it: every example's verdict and
# criteria against its .expected.json, the protocol commands, exit codes and one-line errors.
# Usage: tests/cli_test.sh PATH/TO/trial   (run from the repository root)
set -uo pipefail
TRIAL="$1"
pass=0
fail=0
check() {  # check NAME CONDITION-EXIT-STATUS
  if [[ "$2" -eq 0 ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. Examples: verdict and every criterion as expected.
for input in examples/*.json; do
  [[ "$input" == *.expected.json ]] && continue
  expected="${input%.json}.expected.json"
  s=$(grep -o '"screening_date": *"[0-9-]*"' "$expected" | grep -o '[0-9-]\{10\}')
  r=$(grep -o '"randomization_date": *"[0-9-]*"' "$expected" | grep -o '[0-9-]\{10\}')
  "$TRIAL" screen "$input" --screening-date "$s" --randomization-date "$r" >"$tmp/out.json" 2>"$tmp/err"
  check "$input: exit 0" $?
  verdict=$(grep -o '"verdict": *"[a-z]*"' "$expected" | grep -o '"[a-z]*"$')
  grep -q "\"verdict\": $verdict" "$tmp/out.json"
  check "$input: verdict $verdict" $?
  for id in IN1 IN2 IN3 IN4 IN5 IN6 IN7 IN8 EX1 EX2 EX3 EX4 EX5 EX6 EX7 EX8 EX9 EX10 EX11 EX12 \
            EX13 EX14 EX15 EX16 EX17 EX18; do
    want=$(grep -o "\"$id\": *\"[a-z_]*\"" "$expected" | grep -o '"[a-z_]*"$')
    # The output lists "id" then "kind" then "result" for each criterion.
    got=$(grep -A2 "\"id\": \"$id\"" "$tmp/out.json" | grep -o '"result": "[a-z_]*"' | grep -o '"[a-z_]*"$')
    [[ "$got" == "$want" ]]
    check "$input: $id is $want (got $got)" $?
  done
  "$TRIAL" screen "$input" --screening-date "$s" --randomization-date "$r" --format text \
    | grep -q "^VERDICT: ${verdict//\"/}$"
  check "$input: text table verdict" $?
done

# 2. Protocol commands.
"$TRIAL" protocol check >"$tmp/out" 2>&1
check "protocol check exits 0" $?
grep -q "26 criteria" "$tmp/out"
check "protocol check counts 26 criteria" $?
"$TRIAL" protocol questions >"$tmp/out" 2>&1
check "protocol questions exits 0" $?
for q in Q-WINDOW-ENDS Q-ERYTHEMA-AB-IGNE Q-IN4-ROUTE Q-HBV-UNIT Q-RPILD Q-EX12-WINDOW \
         Q-DOSE-COUNT Q-DOSE Q-HOLD-RULES; do
  grep -q "\[$q\]" "$tmp/out"
  check "protocol questions lists $q" $?
done
grep -q "change it: dose_count = 4 (schedule.yaml)" "$tmp/out"
check "protocol questions names the file of a schedule parameter" $?
# Issue 5 acceptance: the dose, dose count, route and window readings, with their parameters.
for q in Q-DOSE-CAP Q-ROUTE Q-VISIT-WINDOW Q-DOSING-WEIGHT Q-INITIATION; do
  grep -q "\[$q\]" "$tmp/out"
  check "protocol questions lists $q" $?
done
for reading in "change it: dose_mg_per_kg = 8 'mg/kg'" "change it: dosing_route = \"IV\"" \
               "change it: visit_window = 3 days" "change it: dose_cap = 800 'mg'" \
               "change it: initiation_thresholds = \"apply\""; do
  grep -qF "$reading" "$tmp/out"
  check "protocol questions shows the reading: $reading" $?
done

# 2b. Data present but unusable is reported on stderr, the JSON on stdout stays the profile's.
# Give the weight observation a date without a day.
awk 'BEGIN{done=0} /"id": "weight"/{w=1} w && !done && /"effectiveDateTime"/{sub(/"2026-07-02"/, "\"2026-07\""); done=1} {print}' \
  examples/eligible-female.json >"$tmp/undated.json"
"$TRIAL" screen "$tmp/undated.json" --screening-date 2026-07-06 --randomization-date 2026-07-13 \
  >"$tmp/out.json" 2>"$tmp/err"
check "undated weight: exit 0" $?
grep -q "warning: Observation/weight" "$tmp/err"
check "undated weight: warning on stderr names Observation/weight" $?
grep -q '"verdict": "incomplete"' "$tmp/out.json"
check "undated weight: verdict incomplete (weight unknown)" $?

# 2c. Randomization simulation: reproducible from its seed, and within-stratum imbalance of
# permuted blocks {2, 4} never above half the largest block.
seed=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
"$TRIAL" randomization simulate --subjects 110 --sites 5 --runs 50 --seed "$seed" --format json \
  >"$tmp/sim1.json" 2>/dev/null
check "simulate: exit 0" $?
"$TRIAL" randomization simulate --subjects 110 --sites 5 --runs 50 --seed "$seed" --format json \
  >"$tmp/sim2.json" 2>/dev/null
cmp -s "$tmp/sim1.json" "$tmp/sim2.json"
check "simulate: same seed, same result" $?
"$TRIAL" randomization simulate --subjects 110 --sites 5 --runs 50 --seed "$seed" \
  | grep -E '^within-stratum imbalance' | awk '{exit !($NF <= 2)}'
check "simulate: within-stratum imbalance at most 2 with blocks of 2 and 4" $?

# 3. Bad usage and bad input: non-zero exit, one line on stderr, nothing on stdout.
expect_error() {  # expect_error NAME WANT-EXIT WORD ARGS...
  local name="$1" want="$2" word="$3"
  shift 3
  "$TRIAL" "$@" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  [[ $code -eq $want ]]
  check "$name: exit $want (got $code)" $?
  [[ ! -s "$tmp/out" && $(wc -l <"$tmp/err") -eq 1 ]]
  check "$name: one line on stderr, nothing on stdout" $?
  grep -qi -- "$word" "$tmp/err"
  check "$name: message mentions '$word'" $?
}
expect_error "no command" 2 usage
expect_error "unknown command" 2 "unknown command" frobnicate
expect_error "missing screening date" 2 "screening-date" screen examples/eligible-male.json
expect_error "bad date" 2 "2026-02-30" screen examples/eligible-male.json --screening-date 2026-02-30
expect_error "bad format" 2 "format" screen examples/eligible-male.json --screening-date 2026-07-06 --format xml
expect_error "unknown option" 2 "--colour" screen examples/eligible-male.json --colour red
expect_error "missing file" 1 "no such file" screen "$tmp/none.json" --screening-date 2026-07-06
printf '{"resourceType": "Bundle", "entry": [' >"$tmp/bad.json"
expect_error "malformed JSON" 1 "JSON" screen "$tmp/bad.json" --screening-date 2026-07-06
expect_error "R before S" 1 "randomization" screen examples/eligible-male.json \
  --screening-date 2026-07-06 --randomization-date 2026-07-05
expect_error "missing protocol" 3 "protocol" screen examples/eligible-male.json \
  --screening-date 2026-07-06 --protocol "$tmp/no-protocol"
expect_error "simulate: zero subjects" 2 "subjects" randomization simulate --subjects 0 --sites 5 --runs 10
expect_error "simulate: bad seed" 2 "seed" randomization simulate --subjects 10 --sites 2 --runs 10 --seed xyz

# 4. Drug kits (docs/kits.md): the verbs end to end on a fresh SQLite database, and blinded output.
# Outputs a coordinator sees must name no arm: neither the ids nor the names of protocol.yaml.
arm_words=$(awk '/^arms:/{a=1; next} a && /^[a-z]/{a=0} a && /^ *(- )?(id|name):/{sub(/^ *(- )?(id|name): */, ""); print}' \
  protocols/promis-mda5/protocol.yaml)
blinded() {  # blinded NAME FILE: FILE names no arm (case-insensitive)
  local name="$1" file="$2" word found=0
  for word in $arm_words; do grep -qi -- "$word" "$file" && found=1; done
  [[ $found -eq 0 && -s "$file" ]]
  check "$name: output names no arm" $?
}
db="$tmp/kits.db"
k() { "$TRIAL" "$@" --db "$db"; }
seed=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
exp=examples/eligible-male.expected.json
s=$(grep -o '"screening_date": *"[0-9-]*"' "$exp" | grep -o '[0-9-]\{10\}')
r=$(grep -o '"randomization_date": *"[0-9-]*"' "$exp" | grep -o '[0-9-]\{10\}')
{
  k init --admin admin && k site add S1 --name "Site One" --user admin &&
    k site add S2 --name "Site Two" --user admin &&
    k user add coord --role coordinator --sites S1 --user admin &&
    k user add pharm --role unblinded_pharmacist --sites S1 --user admin &&
    k subject add --site S1 --number S1-001 --user coord &&
    k subject add --site S1 --number S1-002 --user coord &&
    k screen examples/eligible-male.json --screening-date "$s" --randomization-date "$r" --save \
      --subject 1 --user coord &&
    k screen examples/eligible-male.json --screening-date "$s" --randomization-date "$r" --save \
      --subject 2 --user coord &&
    k randomization golive --user admin --seed "$seed"
} >"$tmp/setup.out" 2>&1
check "kits: setup (init, sites, users, eligible subjects, go-live)" $?
k kit generate --count 12 --lot LOT-A1 --expiry 2099-12-31 --user pharm --seed "$seed" >"$tmp/out" 2>&1
check "kit generate: exit 0" $?
grep -q "generated 12 kits at the depot" "$tmp/out"
check "kit generate: says how many" $?
expect_error "kit generate: count not a multiple of the ratio sum" 1 "multiple of the arms' ratio sum" \
  kit generate --count 3 --lot L --expiry 2099-12-31 --user admin --db "$db"
expect_error "kit generate: coordinator refused" 1 "unblinded pharmacists only" \
  kit generate --count 2 --lot L --expiry 2099-12-31 --user coord --db "$db"
expect_error "kit generate: bad expiry" 2 "2099-02-30" \
  kit generate --count 2 --lot L --expiry 2099-02-30 --user admin --db "$db"
expect_error "kit generate: missing lot" 2 "--lot" kit generate --count 2 --expiry 2099-12-31 --user admin --db "$db"
k randomize --subject 1 --ild present --user coord >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 1 ]] && grep -q "no kit available for this subject at site S1: resupply the site" "$tmp/err"
check "randomize without kits at the site: refused, resupply message" $?
k kit ship --site S1 --count 8 --user pharm >"$tmp/out" 2>&1
check "kit ship --count: exit 0" $?
grep -q "^shipment SH-0001 to site S1: 8 kits" "$tmp/out"
check "kit ship: shipment SH-0001" $?
depot_kit=$(k kit list --user admin --format json | grep -o '"kit_number": "K-[0-9]*"' | grep -o 'K-[0-9]*' \
  | while read -r kit; do k kit list --user admin | grep "^$kit " | grep -q " depot" && echo "$kit"; done | head -1)
k kit ship --site S2 --kits "$depot_kit" --user admin >"$tmp/out" 2>&1
check "kit ship --kits: exit 0" $?
expect_error "kit ship: both --count and --kits" 2 "either" kit ship --site S1 --count 2 --kits K-100000 --user admin --db "$db"
expect_error "kit ship: unknown site" 1 "unknown site 'S9'" kit ship --site S9 --count 2 --user admin --db "$db"
k randomize --subject 1 --ild present --user coord >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 1 ]] && grep -q "no kit available" "$tmp/err"
check "randomize before receipt: refused (kits in transit are not available)" $?
first=$(k kit list --site S1 --user coord --format json | grep -o 'K-[0-9]*' | head -1)
k kit receive --shipment SH-0001 --damaged "$first" --user coord >"$tmp/receive.txt" 2>&1
check "kit receive: exit 0" $?
grep -q "shipment SH-0001 received at site S1: 7 kits available, 1 damaged" "$tmp/receive.txt"
check "kit receive: counts" $?
blinded "kit receive (text)" "$tmp/receive.txt"
expect_error "kit receive: twice" 1 "already received" kit receive --shipment SH-0001 --user coord --db "$db"
k kit receive --shipment SH-0002 --user admin --format json >"$tmp/receive.json" 2>&1
check "kit receive --format json: exit 0" $?
k randomize --subject 1 --ild present --user coord --request-id rq1 >"$tmp/randomize.txt" 2>&1
check "randomize with kits: exit 0" $?
grep -qE '^R-0001 K-[0-9]{6}$' "$tmp/randomize.txt"
check "randomize prints the randomization and kit numbers" $?
blinded "randomize (text)" "$tmp/randomize.txt"
k randomize --subject 1 --ild present --user coord --request-id rq1 --format json >"$tmp/randomize.json" 2>&1
grep -q "\"kit_number\": \"$(cut -d' ' -f2 "$tmp/randomize.txt")\"" "$tmp/randomize.json"
check "randomize retry: the same kit (json)" $?
blinded "randomize (json)" "$tmp/randomize.json"
k kit dispense --subject 1 --visit D14 --date 2099-01-15 --user coord --request-id d14 >"$tmp/dispense.txt" 2>&1
check "kit dispense: exit 0" $?
grep -qE '^K-[0-9]{6}$' "$tmp/dispense.txt"
check "kit dispense prints the kit number only" $?
blinded "kit dispense (text)" "$tmp/dispense.txt"
k kit dispense --subject 1 --visit D14 --date 2099-01-15 --user coord --request-id d14 --format json \
  >"$tmp/dispense.json" 2>&1
grep -q "\"kit_number\": \"$(cat "$tmp/dispense.txt")\"" "$tmp/dispense.json"
check "kit dispense retry: the same kit (json)" $?
blinded "kit dispense (json)" "$tmp/dispense.json"
expect_error "kit dispense: same visit again" 1 "already received kit" \
  kit dispense --subject 1 --visit D14 --date 2099-01-15 --user coord --db "$db"
expect_error "kit dispense: not randomized" 1 "not randomized" \
  kit dispense --subject 2 --visit D14 --date 2099-01-15 --user coord --db "$db"
expect_error "kit dispense: damaged kit" 1 "is damaged" \
  kit dispense --subject 1 --visit D28 --date 2099-01-29 --user coord --kit "$first" --db "$db"
expect_error "kit dispense: bad date" 2 "date" \
  kit dispense --subject 1 --visit D28 --date tomorrow --user coord --db "$db"
# A kit of the other arm is refused with the blinded message.
subject_arm=$(k kit list --user pharm | grep "^$(cat "$tmp/dispense.txt") " | awk '{print $NF}')
other_kit=$(k kit list --site S1 --user pharm | awk -v arm="$subject_arm" '$4 == "available" && $6 != arm {print $1}' | head -1)
expect_error "kit dispense: wrong arm, blinded message" 1 "does not match subject 1's allocation" \
  kit dispense --subject 1 --visit D28 --date 2099-01-29 --user coord --kit "$other_kit" --db "$db"
blinded "kit dispense wrong-arm message" "$tmp/err"
k kit status "$other_kit" --to quarantined --reason "temperature excursion" --user coord >"$tmp/out" 2>&1
grep -q "is now quarantined" "$tmp/out"
check "kit status: quarantined" $?
expect_error "kit status: no reason" 2 "--reason" kit status "$other_kit" --to available --user coord --db "$db"
expect_error "kit status: bad target" 2 "quarantined, available, damaged or destroyed" \
  kit status "$other_kit" --to dispensed --reason x --user coord --db "$db"
expect_error "kit status: forbidden change" 1 "cannot go from damaged to available" \
  kit status "$first" --to available --reason x --user coord --db "$db"
k kit status "$other_kit" --to available --reason "released by QA" --user pharm >/dev/null 2>&1
check "kit status: released from quarantine" $?
for format in text json; do
  k kit list --site S1 --user coord --format "$format" >"$tmp/list.$format" 2>&1
  check "kit list ($format, coordinator): exit 0" $?
  blinded "kit list ($format, coordinator)" "$tmp/list.$format"
  k kit stock --date 2099-01-10 --user coord --format "$format" >"$tmp/stock.$format" 2>&1
  check "kit stock ($format, coordinator): exit 0" $?
  blinded "kit stock ($format, coordinator)" "$tmp/stock.$format"
done
blinded "kit receive (json)" "$tmp/receive.json"
grep -qE "^site S1: [0-9]+ kits available: (LOW|OK)$" "$tmp/stock.text"
check "kit stock (coordinator): site total and signal" $?
k kit list --site S1 --user pharm >"$tmp/out" 2>&1
grep -q "TCZ" "$tmp/out" && grep -q "PBO" "$tmp/out"
check "kit list (pharmacist): shows arms" $?
k kit stock --site S1 --date 2099-01-10 --user pharm --format json | grep -q '"arm": "TCZ"'
check "kit stock (pharmacist): per-arm counts" $?
expect_error "kit list: no --user" 2 "--user" kit list --db "$db"
expect_error "kit list: another site" 1 "may not see the kits of site 'S2'" kit list --site S2 --user coord --db "$db"
expect_error "kit: unknown verb" 2 "expected 'generate'" kit frobnicate --db "$db"
k audit verify >"$tmp/out" 2>&1
check "kits: audit trail intact" $?

# 5. eCRF data entry (docs/ecrf.md): `data set` and `data import` on a fresh SQLite database.
db="$tmp/data.db"
{
  k init --admin admin && k site add S1 --name "Site One" --user admin &&
    k user add coord --role coordinator --sites S1 --user admin &&
    k subject add --site S1 --number D-001 --user coord
} >/dev/null 2>&1
check "data: setup" $?
k data set --subject 1 --visit SCR --form visit --item visit_date --value 2026-03-01 --user coord >/dev/null 2>&1 &&
  k data set --subject 1 --visit SCR --form weight --item weight --value "150 [lb_av]" --user coord >"$tmp/out" 2>&1
check "data set: exit 0" $?
grep -q "^SCR weight.weight = 68.0388555 kg (version 1)$" "$tmp/out"
check "data set: prints the normalized value" $?
expect_error "data set: no unit" 1 "weight.weight: '62.5' has no unit: write it with one of kg, g" \
  data set --subject 1 --visit SCR --form weight --item weight --value 62.5 --user coord --db "$db"
expect_error "data set: hard range" 1 "outside the hard range 0 to 10" \
  data set --subject 1 --visit D0 --form mmt8 --item neck_flexors --value 11 --user coord --db "$db"
expect_error "data set: form not at visit" 1 "visit W2 does not collect form mmt8" \
  data set --subject 1 --visit W2 --form mmt8 --item neck_flexors --value 9 --user coord --db "$db"
expect_error "data set: missing --value" 2 "--value" \
  data set --subject 1 --visit W2 --form weight --item weight --user coord --db "$db"
k item history --subject 1 --visit D0 --form mmt8 --item neck_flexors >"$tmp/out" 2>&1
! grep -q "11" "$tmp/out"
check "data set: nothing stored on rejection" $?
k data set --subject 1 --visit D0 --form visit --item visit_date --value 2026-03-10 --user coord >/dev/null 2>&1 &&
  k data set --subject 1 --visit D0 --form weight --item weight --value "80 kg" --user coord >"$tmp/out" 2>&1
check "data set: a query still stores (exit 0)" $?
grep -q "^QUERY weight.change_since_previous \[D0\]: .*previous 68.0388555 kg (SCR)" "$tmp/out"
check "data set: prints the weight-change query" $?
cat >"$tmp/import.json" <<'JSON'
[{"form": "vital_signs", "item": "systolic_bp", "value": "120 mm[Hg]"},
 {"form": "vital_signs", "item": "diastolic_bp", "value": "130 mm[Hg]"},
 {"form": "vital_signs", "item": "spo2", "value": "abc"}]
JSON
k data import "$tmp/import.json" --subject 1 --visit D0 --user coord >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 1 ]] && grep -q "2 problem(s), nothing stored" "$tmp/err" &&
  grep -q "vital_signs.spo2: 'abc' is not a quantity" "$tmp/err" &&
  grep -q "vital_signs.diastolic_above_systolic" "$tmp/err"
check "data import: every problem listed, exit 1" $?
k item history --subject 1 --visit D0 --form vital_signs --item systolic_bp >"$tmp/out" 2>&1
! grep -q "120" "$tmp/out"
check "data import: nothing stored on rejection" $?
cat >"$tmp/import.json" <<'JSON'
[{"form": "vital_signs", "item": "systolic_bp", "value": "16 kPa"},
 {"form": "vital_signs", "item": "diastolic_bp", "value": "80 mm[Hg]"}]
JSON
k data import "$tmp/import.json" --subject 1 --visit D0 --user coord >"$tmp/out" 2>&1
check "data import: exit 0" $?
grep -q "^D0 vital_signs.systolic_bp = 120.0098692 mm\[Hg\] (version 1)$" "$tmp/out"
check "data import: prints the stored values" $?
expect_error "data: unknown verb" 2 "expected 'set' or 'import'" data frobnicate --db "$db"
k audit verify >"$tmp/out" 2>&1
check "data: audit trail intact" $?

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
