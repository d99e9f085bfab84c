-- POST /api/v1/randomize for the next eligible subject (bench/http/run.sh). Run with -t1 so one
-- counter hands each subject out once; TRIAL_BENCH_OFFSET skips subjects earlier runs used.
dofile(os.getenv("TRIAL_BENCH_SESSION"))
local next_subject = first_subject + tonumber(os.getenv("TRIAL_BENCH_OFFSET") or "0")
request = function()
  local body = string.format('{"subject":%d,"ild":"%s"}', next_subject,
    next_subject % 2 == 0 and "present" or "absent")
  next_subject = next_subject + 1
  return wrk.format("POST", "/api/v1/randomize",
    {["Cookie"] = cookie, ["X-CSRF-Token"] = csrf, ["Content-Type"] = "application/json"}, body)
end
-- Non-2xx answers are counted by wrk ("Non-2xx or 3xx responses") and reported by run.sh.
