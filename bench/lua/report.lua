-- Appended by run.sh to every row's wrk script (or used alone): after the run, print one
-- machine-readable line that run.sh parses instead of wrk's human-oriented summary.
-- A row script must therefore not define its own done().
-- Latencies are in microseconds; status errors are responses outside 2xx/3xx.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
