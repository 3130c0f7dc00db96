-- POST /1.1/login with username + password: one argon2id verification per request.
--
-- BENCH_USERS_FILE holds "username password sessionToken" lines (users signed up by run.sh before
-- the runs). Thread `tid` of BENCH_THREADS starts at its own place in the list and cycles
-- through all the users.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local users_file = os.getenv("BENCH_USERS_FILE")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-LC-Id"] = os.getenv("BENCH_APP_ID"),
  ["X-LC-Key"] = os.getenv("BENCH_APP_KEY"),
}
local reqs = {}
local i = 0

function init(args)
  local users = {}
  for line in io.lines(users_file) do
    local name, password = string.match(line, "^(%S+)%s+(%S+)")
    if password then users[#users + 1] = { name, password } end
  end
  assert(#users > 0, "no users in " .. tostring(users_file))
  local start = math.floor(#users * tid / nthreads)
  for k = 0, #users - 1 do
    local u = users[(start + k) % #users + 1]
    reqs[#reqs + 1] = wrk.format("POST", "/1.1/login", headers,
      '{"username":"' .. u[1] .. '","password":"' .. u[2] .. '"}')
  end
  common_init()
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
