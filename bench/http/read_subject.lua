-- GET one subject's record (bench/http/run.sh).
dofile(os.getenv("TRIAL_BENCH_SESSION"))
wrk.method = "GET"
wrk.path = "/api/v1/subject/show?id=" .. first_subject
wrk.headers["Cookie"] = cookie
