-- wrk script of bench/control/run: sends the session token and prints one
-- line the driver reads: requests/s, p50 and p99 latency (ms), requests,
-- non-2xx answers and socket errors.
--   TOKEN=... wrk -t2 -c16 -d10s -s bench/control/wrk_report.lua URL
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-result %.1f %.3f %.3f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
