-- GET /1.1/requestCaptcha with the app key: one captcha drawn (85x30 PNG), stored with its hashed
-- answer per request. The bench app's per-address captcha limits are off.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local req

function init(args)
  req = wrk.format("GET", "/1.1/requestCaptcha", {
    ["X-LC-Id"] = os.getenv("BENCH_APP_ID"), ["X-LC-Key"] = os.getenv("BENCH_APP_KEY"),
  })
  common_init()
end

function request()
  return req
end
