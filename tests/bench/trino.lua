-- tests/bench/trino.lua - the Trino path (client:trino) next to the job path
-- (client:query + wait + rows) against the fake TD server: time to the
-- first row and rows per second. Run by tests/bench/run.lua, or alone:
--   ./tdlua tests/bench/trino.lua
-- The fake's job flow is its default (queued for 1 poll, running for 2);
-- job:wait polls as it does for users (every 1 s, growing). Absolute times
-- depend on the machine; the ratios are what to compare.
package.path = "tests/lib/?.lua;" .. package.path
local t = require "testlib"
local core = require "td.core"

local function time(fn, reps)
  local best = math.huge
  for _ = 1, reps or 1 do
    local t0 = core.now()
    fn()
    best = math.min(best, core.now() - t0)
  end
  return best
end

local function report(name, base_name, base, cand_name, cand)
  print(("%-34s %-28s %8.3fs | %-28s %8.3fs | ratio %.2f"):format(name, base_name, base, cand_name, cand, cand / base))
end

t.reset()
local c = t.client()

-- 1. time to the first row of a small query
local SMALL = "SELECT method, COUNT(1) FROM www_access GROUP BY 1"
local job_first = time(function()
  local job = c:query(SMALL, { db = "sample_datasets" }):wait { progress = false }
  for _ in job:rows() do break end
end)
local trino_first = time(function()
  for _ in c:trino(SMALL, { db = "sample_datasets", progress = false }):rows() do break end
end, 3)
report("time to first row (small query)", "job: query+wait+rows", job_first, "trino: rows()", trino_first)

-- 2. rows per second once the rows flow (pages of 5000 rows)
local N = tonumber(os.getenv("BENCH_TRINO_ROWS")) or 100000
local sql = ("SELECT * -- fake_rows(%d) page_rows(5000)"):format(N)
local job = c:query(sql, { db = "web" }):wait { interval = 0.01, progress = false }
local job_rows = time(function()
  local n = 0
  for _ in job:rows() do n = n + 1 end
  assert(n == N)
end, 3)
local trino_rows = time(function()
  local n = 0
  for _ in c:trino(sql, { progress = false }):rows() do n = n + 1 end
  assert(n == N)
end, 3)
report(("rows (%d): job result vs trino pages"):format(N), "job rows (msgpack.gz)", job_rows,
  "trino rows (JSON pages)", trino_rows)
print(("%-34s job %.0f rows/s, trino %.0f rows/s"):format("", N / job_rows, N / trino_rows))
t.stop_fake()
