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

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
