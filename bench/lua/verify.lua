-- POST /1.1/verifySmsCode/<code> with real, unused codes.
--
-- BENCH_PAIRS is a file of "phone code epoch appId" lines, taken from the sink; BENCH_APPS_FILE
-- ("appId appKey" lines) gives each app's key (pairs of other apps use BENCH_APP_ID/KEY).
-- Thread `tid` of BENCH_THREADS walks its own contiguous slice and uses each pair once. If its slice runs out
-- the thread stops (and the run is flagged "exhausted": its req/s then understates, because wrk
-- divides by the full duration). done() writes the pairs nobody used to BENCH_PAIRS_LEFT.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local pairs_file = os.getenv("BENCH_PAIRS")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-LC-Id"] = os.getenv("BENCH_APP_ID"),
  ["X-LC-Key"] = os.getenv("BENCH_APP_KEY"),
}

local app_headers = {}
local apps_file = os.getenv("BENCH_APPS_FILE")
if apps_file and apps_file ~= "" then
  for line in io.lines(apps_file) do
    local id, key = string.match(line, "^(%S+)%s+(%S+)")
    if id then
      app_headers[id] = {
        ["Content-Type"] = "application/json", ["X-LC-Id"] = id, ["X-LC-Key"] = key,
      }
    end
  end
end

local function load_lines()
  local lines = {}
  for line in io.lines(pairs_file) do
    local phone, code = string.match(line, "^(%S+)%s+(%S+)")
    if phone then lines[#lines + 1] = line end
  end
  return lines
end

local function slice(total, t)
  return math.floor(total * t / nthreads) + 1, math.floor(total * (t + 1) / nthreads)
end

local mine = {}
used = 0
exhausted = false
local idle

function init(args)
  local lines = load_lines()
  local lo, hi = slice(#lines, tid)
  for i = lo, hi do
    local phone, code, _, app = string.match(lines[i], "^(%S+)%s+(%S+)%s*(%S*)%s*(%S*)")
    mine[#mine + 1] = { phone, code, app_headers[app] or headers }
  end
  idle = wrk.format("GET", "/1.1/date")
  common_init()
end

function request()
  if used >= #mine then
    if not exhausted then
      exhausted = true
      wrk.thread:stop()
    end
    return idle
  end
  used = used + 1
  local p = mine[used]
  return wrk.format("POST", "/1.1/verifySmsCode/" .. p[2], p[3],
    '{"mobilePhoneNumber":"' .. p[1] .. '"}')
end

function bench_extra(threads)
  local lines = load_lines()
  local total_used, any_exhausted, left = 0, false, {}
  for _, t in ipairs(threads) do
    local tt = t:get("tid")
    local u = t:get("used") or 0
    total_used = total_used + u
    if t:get("exhausted") then any_exhausted = true end
    local lo, hi = slice(#lines, tt)
    for i = lo + u, hi do left[#left + 1] = lines[i] end
  end
  local out = os.getenv("BENCH_PAIRS_LEFT")
  if out and out ~= "" then
    local f = assert(io.open(out, "w"))
    for _, line in ipairs(left) do f:write(line, "\n") end
    f:close()
  end
  return { pairs = #lines, used = total_used, left = #left, exhausted = any_exhausted }
end
