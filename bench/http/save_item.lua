-- POST one eCRF item (a screening weight), each request a new audited version (bench/http/run.sh).
dofile(os.getenv("TRIAL_BENCH_SESSION"))
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"subject":%d,"visit":"SCR","form":"weight","item":"weight","value":"%d.%d kg",' ..
    '"reason":"benchmark"}', first_subject, 60 + n % 20, n % 10)
  return wrk.format("POST", "/api/v1/data/set",
    {["Cookie"] = cookie, ["X-CSRF-Token"] = csrf, ["Content-Type"] = "application/json"}, body)
end
