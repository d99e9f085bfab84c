#!/usr/bin/env bash
# The HTTP benchmark of issue 7: wrk against `trial serve` on SQLite (and on PostgreSQL when
# TRIAL_TEST_PG_URL is set, e.g. under scripts/with-pg-cluster): requests per second and p99
# latency for reading a subject, saving an eCRF item (durable, audited) and randomizing, at 1, 16
# and 64 connections. Prints a Markdown table and writes it to build/bench-http.md.
#   bench/http/run.sh [SECONDS]        (default 5 s per run)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
TRIAL="${ROOT}/build/trial"
SECONDS_PER_RUN="${1:-5}"
SHARED="${TRIAL_SHARED:-${ROOT}/../shared}"
[[ -x "${TRIAL}" ]] || { echo "http bench: build first (make build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "http bench: wrk is missing (scripts/install-deps)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "${server_pid}" ]] && kill "${server_pid}" 2>/dev/null && wait "${server_pid}" 2>/dev/null
  rm -rf "${work}"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench BACKEND DB: sets up DB, starts the server, runs the nine wrk runs.
bench() {
  local backend="$1" db="$2" password="bench-password-$RANDOM$RANDOM"
  t() { "${TRIAL}" "$@" --db "${db}"; }
  t init --admin admin >/dev/null
  t site add S1 --name "Bench site" --user admin >/dev/null
  t user add coord --role coordinator --sites S1 --user admin >/dev/null
  echo "${password}" | t user password coord --user admin >/dev/null
  t randomization golive --user admin --seed 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff >/dev/null
  local subjects="${TRIAL_BENCH_SUBJECTS:-6000}"
  t randomization extend --user admin --free "${subjects}" >/dev/null
  t kit generate --count "${subjects}" --lot BENCH --expiry 2030-12-31 --user admin \
    --seed 0101010101010101010101010101010101010101010101010101010101010101 >/dev/null
  t kit ship --site S1 --count "${subjects}" --user admin >/dev/null
  t kit receive --shipment SH-0001 --user coord >/dev/null
  local port; port="$(free_port)"
  "${TRIAL}" serve --db "${db}" --port "${port}" >"${work}/serve.out" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${port}/healthz" >/dev/null && break; sleep 0.1; done
  python3 bench/http/prepare.py "http://127.0.0.1:${port}" coord "${password}" "${subjects}" \
    "${SHARED}/fhir/examples/eligible-male.json" "${SHARED}/fhir/examples/eligible-male.expected.json" "${work}"
  export TRIAL_BENCH_SESSION="${work}/session.lua"
  local offset=0
  for script in read_subject save_item randomize; do
    for c in 1 16 64; do
      export TRIAL_BENCH_OFFSET="${offset}"
      wrk -t1 -c"${c}" -d"${SECONDS_PER_RUN}s" --latency -s "bench/http/${script}.lua" \
        "http://127.0.0.1:${port}" >"${work}/wrk.txt" 2>&1 || true
      local rps p99 non2xx total
      rps="$(awk '/Requests\/sec/ {print $2}' "${work}/wrk.txt")"
      p99="$(awk '$1 == "99%" {print $2}' "${work}/wrk.txt")"
      total="$(awk '/requests in/ {print $1}' "${work}/wrk.txt")"
      non2xx="$(awk '/Non-2xx/ {print $5}' "${work}/wrk.txt")"
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${backend}" "${script}" "${c}" "${rps:-?}" \
        "${p99:-?}" "${total:-?}" "${non2xx:-0}" | tee -a "${ROOT}/build/bench-http.md"
      [[ "${script}" == randomize ]] && offset=$((offset + ${total:-0}))
    done
  done
  kill "${server_pid}"; wait "${server_pid}" 2>/dev/null || true; server_pid=""
}

{
  echo "# trial serve under wrk ($(date -u +%Y-%m-%d), ${SECONDS_PER_RUN} s per run, $(nproc) cores)"
  echo
  echo "| backend | request | connections | requests/s | p99 latency | requests | non-2xx |"
  echo "|---|---|---:|---:|---:|---:|---:|"
} | tee "${ROOT}/build/bench-http.md"
bench sqlite "${work}/bench.db"
if [[ -n "${TRIAL_TEST_PG_URL:-}" ]]; then
  bench postgresql "${TRIAL_TEST_PG_URL}"
fi
