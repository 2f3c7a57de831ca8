-- tests/bench/run.lua - benchmarks, reported as ratios against a baseline
-- measured in the same run on the same machine (absolute times vary).
--   ./tdlua tests/bench/run.lua      (make bench)
package.path = "tests/lib/?.lua;" .. package.path
local t = require "testlib"
local core = require "td.core"
local http = require "td.http"

local function time(fn, reps)
  reps = reps or 1
  local best = math.huge
  for _ = 1, reps do
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
local N = tonumber(os.getenv("BENCH_ROWS")) or 1000000
local job = c:query(("SELECT * -- fake_rows(%d)"):format(N), { db = "web" }):wait { interval = 0.01, progress = false }

-- 1. streaming decode vs the bare transfer of the same bytes
local raw = time(function()
  local req = http.open_stream(c, { path = "/v3/job/result/" .. job.job_id, query = { format = "msgpack.gz" } })
  local async = require "td.async"
  while true do
    local s = req:read()
    if not s then
      if req:done() then break end
      async.await(req)
    end
  end
end, 3)
local decoded = time(function()
  local n = 0
  for _ in job:rows() do n = n + 1 end
  assert(n == N)
end, 3)
report(("result: %d rows"):format(N), "transfer only", raw, "transfer+gunzip+decode", decoded)
local recs = time(function() for _ in job:records() do end end, 3)
report("records (maps) vs rows (arrays)", "rows", decoded, "records", recs)

-- 1b. downloads: converting rows to text (td.core.textwriter) vs iterating
-- them bare; msgpack.gz is written as it comes, without decoding
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. t.sh_quote(dir))
for _, fmt in ipairs { "csv", "tsv", "jsonl", "msgpack.gz" } do
  local d = time(function()
    local s = job:download(dir .. "/bench." .. fmt, { format = fmt, progress = false, parallel = false })
    assert(s.rows == N)
  end, 3)
  report(("download %s (%d rows)"):format(fmt, N), "rows (bare iteration)", decoded, "download " .. fmt, d)
end
os.execute("rm -rf " .. t.sh_quote(dir))

-- 2. start-up: tdlua -e '' vs the stock interpreter
local bin = os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"
local function startup(cmd)
  return time(function()
    for _ = 1, 50 do os.execute(cmd .. " -e '' >/dev/null 2>&1") end
  end, 3) / 50
end
if os.execute("command -v lua5.4 >/dev/null") then
  report("start-up (per run, incl. fork)", "lua5.4 -e ''", startup("lua5.4"), "tdlua -e ''", startup(bin))
end

-- 3. waiting for many jobs: one after another vs concurrently
t.reset { queued_polls = 1, running_polls = 2 }
local M = 40
local function submit()
  local jobs = {}
  for i = 1, M do jobs[i] = c:query("SELECT " .. i, { db = "web" }) end
  return jobs
end
local opts = { interval = 0.05, max_interval = 0.05, progress = false }
local jobs1 = submit()
local seq = time(function() for _, j in ipairs(jobs1) do j:wait(opts) end end)
local jobs2 = submit()
local conc = time(function() td.wait_all(jobs2, opts) end)
report(("waiting for %d jobs"):format(M), "sequential", seq, "concurrent (td.wait_all)", conc)

-- 4. parallel ranged download vs one connection, over a throttled server
-- (every result response is sent in 16 KiB pieces 5 ms apart: ~3 MB/s per
-- connection, as a per-connection bandwidth limit would)
t.reset()
local big = c:query("SELECT * -- fake_rows(200000)", { db = "web" }):wait { interval = 0.01, progress = false }
t.fault { path = "^/v3/job/result/", action = "slow", chunk = 16384, interval = 0.005, times = -1 }
local CH = 256 * 1024
local function fetch(parallel)
  local n = 0
  for _ in big:rows { parallel = parallel, chunk_size = CH } do n = n + 1 end
  assert(n == 200000)
end
local one = time(function() fetch(false) end)
local four = time(function() fetch(4) end)
report(("rows over a throttled link (%d KiB)"):format(big.result_size // 1024), "1 connection", one, "4 ranged connections", four)
local eight = time(function() fetch(8) end)
report("", "1 connection", one, "8 ranged connections", eight)
dofile("tests/bench/trino.lua") -- 5. the Trino path next to the job path: first row, rows/s
t.stop_fake()
