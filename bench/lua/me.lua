-- GET /1.1/users/me with X-LC-Session: the session check.
--
-- BENCH_USERS_FILE holds "username password sessionToken" lines (users signed up by run.sh before
-- the runs). Thread `tid` of BENCH_THREADS starts at its own place in the list and cycles
-- through all the tokens.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local users_file = os.getenv("BENCH_USERS_FILE")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local app_id = os.getenv("BENCH_APP_ID")
local app_key = os.getenv("BENCH_APP_KEY")
local reqs = {}
local i = 0

function init(args)
  local tokens = {}
  for line in io.lines(users_file) do
    local _, _, token = string.match(line, "^(%S+)%s+(%S+)%s+(%S+)")
    if token then tokens[#tokens + 1] = token end
  end
  assert(#tokens > 0, "no session tokens in " .. tostring(users_file))
  -- Pre-format every request once; each thread starts at its own offset.
  local start = math.floor(#tokens * tid / nthreads)
  for k = 0, #tokens - 1 do
    local token = tokens[(start + k) % #tokens + 1]
    reqs[#reqs + 1] = wrk.format("GET", "/1.1/users/me", {
      ["X-LC-Id"] = app_id, ["X-LC-Key"] = app_key, ["X-LC-Session"] = token,
    })
  end
  common_init()
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
