#!/usr/bin/env bash
# `trial serve` as an operator runs it: startup errors, the request log, TLS with a Secure
# session cookie, sign-in and a password change, and a graceful stop on SIGTERM.
# Usage: tests/serve_test.sh PATH/TO/trial   (run from the repository root)
set -uo pipefail
TRIAL="$1"
pass=0
fail=0
check() {  # check NAME CONDITION-EXIT-STATUS
  if [[ "$2" -eq 0 ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
tmp="$(mktemp -d)"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {  # wait_up URL
  for _ in $(seq 100); do curl -skf "$1/healthz" >/dev/null && return 0; sleep 0.1; done
  return 1
}
t() { "$TRIAL" "$@" --db "$tmp/s.db"; }
t init --admin admin >/dev/null
t site add S1 --name "Site one" --user admin >/dev/null
t user add coord --role coordinator --sites S1 --user admin >/dev/null

# 1. Passwords: the rules, the actor, and stdin.
echo "short" | t user password coord --user admin >/dev/null 2>"$tmp/err"
check "a short password is refused (exit 1)" $(( $? != 1 ))
grep -q "12 to 128 characters" "$tmp/err"
check "the refusal says the rule" $?
echo "a long enough password" | t user password admin --user coord >/dev/null 2>"$tmp/err"
check "a coordinator may not set the administrator's password" $(( $? == 0 ))
echo "coordinator password 1" | t user password coord --user admin >/dev/null
check "the administrator sets the coordinator's password" $?

# 2. Startup errors are one clear line, with nothing served.
"$TRIAL" serve --db "$tmp/missing.db" --port "$(free_port)" >/dev/null 2>"$tmp/err"
check "a missing database is exit 4" $(( $? != 4 ))
"$TRIAL" serve --db "$tmp/s.db" --port 70000 >/dev/null 2>"$tmp/err"
check "a port out of range is a usage error" $(( $? != 2 ))
"$TRIAL" serve --db "$tmp/s.db" --tls-cert "$tmp/none.pem" >/dev/null 2>"$tmp/err"
check "a certificate without a key is a usage error" $(( $? != 2 ))

# 3. Plain HTTP: sign in, the request log has no secrets, SIGTERM stops it cleanly.
port="$(free_port)"
"$TRIAL" serve --db "$tmp/s.db" --port "$port" >"$tmp/out" 2>"$tmp/log" &
pid=$!
wait_up "http://127.0.0.1:$port"
check "the server answers /healthz" $?
grep -q "listening on http://127.0.0.1:$port/" "$tmp/out"
check "it prints where it listens" $?
curl -s -D "$tmp/h" -o "$tmp/b" -H 'Content-Type: application/json' \
  -d '{"username":"coord","password":"coordinator password 1"}' "http://127.0.0.1:$port/api/v1/login"
grep -qi '^set-cookie: trial_session=[0-9a-f]*; Path=/; HttpOnly; SameSite=Strict' "$tmp/h"
check "the session cookie is HttpOnly and SameSite=Strict" $?
grep -qi '^set-cookie:.*Secure' "$tmp/h"
check "no Secure flag without TLS" $(( $? == 0 ))
cookie="$(grep -i '^set-cookie:' "$tmp/h" | sed 's/^[^:]*: //; s/;.*//')"
csrf="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$tmp/b")"
curl -s -o "$tmp/b" -w '%{http_code}' -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" \
  -H 'Content-Type: application/json' \
  -d '{"current":"coordinator password 1","new":"coordinator password 2"}' \
  "http://127.0.0.1:$port/api/v1/password" >"$tmp/code"
[[ "$(cat "$tmp/code")" == 200 ]]
check "a user changes their own password" $?
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"username":"coord","password":"coordinator password 1"}' "http://127.0.0.1:$port/api/v1/login")"
[[ "$code" == 401 ]]
check "the old password no longer signs in (got $code)" $?
grep -q '"route":"/api/v1/login"' "$tmp/log"
check "requests are logged" $?
! grep -q "coordinator password\|$csrf\|${cookie#*=}" "$tmp/log"
check "the log holds no password, token or cookie" $?
kill -TERM "$pid"
wait "$pid"
check "SIGTERM stops the server with exit 0" $?
pid=""
grep -q "stopped" "$tmp/out"
check "it says it stopped" $?

# 4. TLS: a self-signed certificate; the cookie is Secure.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
  -subj "/CN=localhost" >/dev/null 2>&1
port="$(free_port)"
"$TRIAL" serve --db "$tmp/s.db" --port "$port" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
  >"$tmp/out" 2>"$tmp/log" &
pid=$!
wait_up "https://127.0.0.1:$port"
check "the server answers over TLS" $?
curl -sk -D "$tmp/h" -o /dev/null -H 'Content-Type: application/json' \
  -d '{"username":"coord","password":"coordinator password 2"}' "https://127.0.0.1:$port/api/v1/login"
grep -qi '^set-cookie: trial_session=.*; Secure' "$tmp/h"
check "over TLS the session cookie is Secure" $?
kill -TERM "$pid"
wait "$pid"
check "SIGTERM stops the TLS server with exit 0" $?
pid=""

echo "serve_test: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
