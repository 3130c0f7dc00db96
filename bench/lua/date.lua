-- GET /1.1/date: no authentication, no database. The baseline for the other scenarios.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/1.1/date"

function init(args)
  common_init()
end
