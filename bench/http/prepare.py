#!/usr/bin/env python3
"""Prepares a `trial serve` database for the wrk benchmark (bench/http/run.sh).

Signs in as the coordinator and, through the JSON API itself, registers N subjects and screens each
with the eligible example bundle (its dates moved so that its screening date is today), so that N
subjects are eligible for /api/v1/randomize. Writes the session cookie and CSRF token for wrk.
Usage: prepare.py BASE_URL USER PASSWORD N BUNDLE EXPECTED OUT_DIR
"""
import datetime
import http.client
import json
import re
import sys
import urllib.parse


def main():
    base, user, password, n, bundle_path, expected_path, out_dir = sys.argv[1:8]
    n = int(n)
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def call(method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, "/api/v1/" + path, json.dumps(body) if body is not None else None, h)
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"prepare: {method} {path} -> {r.status} {data[:300]!r}")
        return r, json.loads(data)

    r, me = call("POST", "login", {"username": user, "password": password})
    cookie = r.getheader("Set-Cookie").split(";")[0]
    auth = {"Cookie": cookie, "X-CSRF-Token": me["csrf"]}
    site = me["sites"][0]

    screening = json.load(open(expected_path))["screening_date"]
    shift = datetime.date.today() - datetime.date.fromisoformat(screening)
    text = open(bundle_path).read()

    def move(m):
        return (datetime.date.fromisoformat(m.group(0)) + shift).isoformat()

    bundle = json.loads(re.sub(r"\d{4}-\d{2}-\d{2}", move, text))
    today = datetime.date.today().isoformat()
    for i in range(n):
        _, s = call("POST", "subject/add", {"site": site, "number": f"B{i:05d}"}, auth)
        _, v = call("POST", "screen", {"bundle": bundle, "screening-date": today,
                                       "subject": s["id"], "save": True}, auth)
        if v.get("verdict") != "eligible":
            sys.exit(f"prepare: subject {s['id']} is {v.get('verdict')}, not eligible")
        if i == 0:
            first = s["id"]
    with open(f"{out_dir}/session.lua", "w") as f:
        f.write(f'cookie = "{cookie}"\ncsrf = "{me["csrf"]}"\nfirst_subject = {first}\n')
    print(f"prepare: {n} eligible subjects from id {first} at site {site}")


if __name__ == "__main__":
    main()
