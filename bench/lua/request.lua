-- POST /1.1/requestSmsCode, each request to a different mainland mobile number:
--   BENCH_PHONE_PREFIX (e.g. +86138) .. 8 digits = BENCH_PHONE_OFFSET + tid * 1,000,000 + counter
-- The caller gives each run its own prefix/offset block (offset a multiple of 10,000,000), so
-- numbers never repeat within a run or across the runs of one app (the per-phone limit is 1 a
-- minute).
--
-- With BENCH_APPS_FILE ("appId appKey" lines) the requests go round-robin to those apps instead
-- of BENCH_APP_ID: used only to fill the verify pool faster (on PostgreSQL one app's sends from
-- one address are serialised).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local prefix = os.getenv("BENCH_PHONE_PREFIX") or "+86138"
local offset = tonumber(os.getenv("BENCH_PHONE_OFFSET") or "0")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-LC-Id"] = os.getenv("BENCH_APP_ID"),
  ["X-LC-Key"] = os.getenv("BENCH_APP_KEY"),
}
local apps = {}
local apps_file = os.getenv("BENCH_APPS_FILE")
if apps_file and apps_file ~= "" then
  for line in io.lines(apps_file) do
    local id, key = string.match(line, "^(%S+)%s+(%S+)")
    if id then
      apps[#apps + 1] = {
        ["Content-Type"] = "application/json", ["X-LC-Id"] = id, ["X-LC-Key"] = key,
      }
    end
  end
end
local base, n = 0, 0
wrapped = false

function init(args)
  assert(tid < 10, "at most 10 wrk threads")
  base = offset + tid * 1000000
  common_init()
end

function request()
  if n >= 1000000 then
    -- A thread's 1,000,000 numbers are used up; numbers would repeat (and hit the per-phone limit).
    wrapped = true
    n = 0
  end
  local phone = prefix .. string.format("%08d", base + n)
  n = n + 1
  local h = headers
  if #apps > 0 then h = apps[n % #apps + 1] end
  return wrk.format("POST", "/1.1/requestSmsCode", h,
    '{"mobilePhoneNumber":"' .. phone .. '"}')
end

function bench_extra(threads)
  local w = false
  for _, t in ipairs(threads) do
    if t:get("wrapped") then w = true end
  end
  return { wrapped = w }
end
