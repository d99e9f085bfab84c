#!/usr/bin/env bash
# Runs the browser tests (docs/web.md) on SQLite and, with TRIAL_TEST_PG_URL, on PostgreSQL
# (tests/backends.sh): a fresh demo database with random passwords, `trial serve` on a free port,
# Node's test runner over *.test.mjs (playwright-core driving /usr/bin/chromium), then the server
# is stopped. Screenshots (one per step) stay in ARTIFACTS/<backend>/.
# Usage: tests/browser/run.sh TRIAL [ARTIFACTS]   (from the repository root)
# Needs: node, /usr/bin/chromium and tests/browser/node_modules (scripts/install-deps).
set -uo pipefail

trial="$(realpath "$1")"
root="$(pwd)"
artifacts="$(realpath -m "${2:-build/browser-artifacts}")"
here="$(cd "$(dirname "$0")" && pwd)"
shared="${TRIAL_SHARED:-${root}/../shared}"

for need in node curl /usr/bin/chromium; do
  command -v "${need}" >/dev/null || {
    echo "browser: ${need} is missing (scripts/install-deps)" >&2
    exit 1
  }
done
[[ -d "${here}/node_modules/playwright-core" ]] || {
  echo "browser: tests/browser/node_modules is missing: run scripts/install-deps" >&2
  exit 1
}

# shellcheck source=tests/backends.sh
source "${here}/../backends.sh"
rm -rf "${artifacts}"

server_pid=""
stop_server() {
  if [[ -n "${server_pid}" ]]; then
    kill "${server_pid}" 2>/dev/null
    wait "${server_pid}" 2>/dev/null
    server_pid=""
  fi
}
trap 'stop_server; cleanup' EXIT

run_backend() { # run_backend KIND DB
  local kind="$1" db="$2" out="${artifacts}/$1"
  mkdir -p "${out}"
  # 1. The server on a free port, on a demo database it creates (`trial serve --demo`), with
  # each demo user's random password written to a file for the tests.
  local port
  port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  "${trial}" serve --demo --demo-passwords "${tmp}/passwords-${kind}.json" --db "${db}" \
    --port "${port}" --web "${root}/web" --protocol "${root}/protocols/promis-mda5" \
    >"${out}/server.out" 2>"${out}/server.log" &
  server_pid=$!
  local up=1
  for _ in $(seq 1 1800); do  # building the demo takes up to a minute on PostgreSQL
    if curl -fsS "http://127.0.0.1:${port}/healthz" >/dev/null 2>&1; then up=0; break; fi
    kill -0 "${server_pid}" 2>/dev/null || break
    sleep 0.1
  done
  check "${kind}: server answers /healthz" "${up}"
  if [[ "${up}" -eq 0 ]]; then
    # 3. The tests.
    (cd "${here}" &&
      TRIAL_URL="http://127.0.0.1:${port}" TRIAL_PASSWORDS="${tmp}/passwords-${kind}.json" \
        TRIAL_ARTIFACTS="${out}" TRIAL_ROOT="${root}" TRIAL_EXAMPLES="${shared}/fhir/examples" \
        node --test --test-concurrency=1 --test-timeout=240000 ./*.test.mjs)
    check "${kind}: browser tests" $?
  else
    cat "${out}/server.out" "${out}/server.log"
  fi
  stop_server
}

run_on_backends browser
finish
