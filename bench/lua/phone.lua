-- POST /1.1/usersByMobilePhone with a test number and its fixed code (app setting
-- "test_numbers": the code always verifies and no SMS is sent).
--
-- The numbers are BENCH_PHONE_PREFIX .. 8 digits, 0 .. BENCH_PHONE_NUMBERS - 1, all with the code
-- BENCH_PHONE_CODE. Thread `tid` of BENCH_THREADS starts at its own place and walks the numbers
-- in order, wrapping around: the first call for a number creates its user (201), later calls
-- log that user in (200). Every call opens a session; no password is hashed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local prefix = os.getenv("BENCH_PHONE_PREFIX") or "+86134"
local count = tonumber(os.getenv("BENCH_PHONE_NUMBERS") or "3000")
local code = os.getenv("BENCH_PHONE_CODE") or "123456"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-LC-Id"] = os.getenv("BENCH_APP_ID"),
  ["X-LC-Key"] = os.getenv("BENCH_APP_KEY"),
}
local n = 0

function init(args)
  n = math.floor(count * tid / nthreads)
  common_init()
end

function request()
  local phone = prefix .. string.format("%08d", n)
  n = (n + 1) % count
  return wrk.format("POST", "/1.1/usersByMobilePhone", headers,
    '{"mobilePhoneNumber":"' .. phone .. '","smsCode":"' .. code .. '"}')
end
