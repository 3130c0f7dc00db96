-- Shared by the bench scripts (loaded with dofile from each one).
--
-- * setup() numbers the threads (global `tid` in each thread, 0-based) and keeps them so that
--   done() can read their globals back.
-- * response() counts status codes per thread and keeps the first few non-2xx bodies
--   (BENCH_STATUS=0 turns it off: wrk then skips parsing the responses altogether).
-- * done() writes one JSON object to $BENCH_OUT: wrk's summary, latency percentiles, the merged
--   status counts, and whatever the scenario's bench_extra(threads) returns.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  threads[#threads + 1] = thread
end

statuses = {}
samples = {}
local nsamples = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and nsamples < 3 then
    nsamples = nsamples + 1
    samples[nsamples] = tostring(status) .. " " .. string.sub(body or "", 1, 160)
  end
end

-- Called by each scenario's init() after its own work.
function common_init()
  if os.getenv("BENCH_STATUS") == "0" then
    response = nil
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

local function json_value(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
    return string.format("%.3f", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "string" then
    return json_string(v)
  elseif t == "table" then
    if #v > 0 then
      local parts = {}
      for i = 1, #v do parts[i] = json_value(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end
      parts[#parts + 1] = json_string(k) .. ":" .. json_value(val)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

function done(summary, latency, requests)
  local merged, errs = {}, {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses") or {}
    for code, n in pairs(s) do
      local k = tostring(code)
      merged[k] = (merged[k] or 0) + n
    end
    for _, line in ipairs(t:get("samples") or {}) do
      if #errs < 5 then errs[#errs + 1] = line end
    end
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    rps = summary.requests / (summary.duration / 1e6),
    errors = summary.errors,
    latency_us = {
      min = latency.min, mean = latency.mean, stdev = latency.stdev, max = latency.max,
      p50 = latency:percentile(50), p90 = latency:percentile(90),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
    },
    statuses = merged,
    samples = errs,
    threads = #threads,
  }
  if bench_extra then
    result.extra = bench_extra(threads)
  end
  local line = json_value(result)
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(line, "\n")
    f:close()
  end
  io.write("BENCH_RESULT ", line, "\n")
end
