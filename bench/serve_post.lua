-- wrk script: POST /v1/events with batches of EVENTS events per request, each
-- with a unique event_id (run id, wrk thread, request counter, position), so
-- every event is new and must be stored.
--   wrk ... -s bench/serve_post.lua URL -- KEY EVENTS RUN_ID [WRAP]
-- WRAP > 0: after WRAP requests per thread the ids repeat (retries: counted
-- as duplicates), so a long soak exercises the ingest path without growing
-- the store (and its dedupe index) without bound.
local key, per_request, run, wrap
local counter = 0
local threads = 0
local channels = {"web", "app", "miniprogram", "store"}
local types = {"view", "view", "view", "add_to_cart", "purchase"}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  key = args[1]
  per_request = tonumber(args[2] or "500")
  run = args[3] or tostring(os.time())
  wrap = tonumber(args[4] or "0")
end

function request()
  counter = counter + 1
  if wrap > 0 and counter > wrap then counter = 1 end
  local parts = {}
  for j = 1, per_request do
    local n = counter * per_request + j
    parts[j] = string.format(
      '{"event_id":"b-%s-%d-%d-%d","ts":"2025-12-%02dT10:%02d:%02d+08:00","channel":"%s","type":"%s",' ..
      '"identities":{"member_card":"MB%d","device_id":"D%d"},"item_id":"SKU-%d","quantity":1,"price":%d.5}',
      run, tid, counter, j, 1 + n % 28, n % 60, (n * 7) % 60, channels[1 + n % 4], types[1 + n % 5],
      n % 50000, n % 70000, n % 3000, 10 + n % 90)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/v1/events",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end

-- done() runs in wrk's main Lua state, where init() never ran: events/s is
-- req/s times the batch size (serve_bench.sh multiplies).
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f req_per_s=%.1f p50_ms=%.2f "
                         .. "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
