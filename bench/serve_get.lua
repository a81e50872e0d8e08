-- wrk script: GET /v1/customers/{identifier} round-robin over a file of
-- identifiers (one "type:value" per line), with an API key.
--   wrk ... -s bench/serve_get.lua URL -- IDS_FILE KEY [PATH_SUFFIX]
-- PATH_SUFFIX (e.g. "/recommendations?k=10") turns it into another GET per customer.
local ids = {}
local key, suffix
local i = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  key = args[2]
  suffix = args[3] or ""
  i = offset or 0
end

local function escape(s)
  return (s:gsub("[^%w%-%._~:]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  i = i + 1
  local id = ids[(i % #ids) + 1]
  return wrk.format("GET", "/v1/customers/" .. escape(id) .. suffix, {["Authorization"] = "Bearer " .. key})
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f req_per_s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
                         .. "max_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
