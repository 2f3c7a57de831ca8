-- parallel ranged fetching of results: same output as one connection,
-- every chunk checked and resumed on its own, bounded, released on break
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local slurp = t.slurp
local exists = t.exists
local core = require "td.core"

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }
local CHUNK = 40000 -- small chunks so a modest result needs several

-- inside the fake server's directory, which the runner removes at the end
local DIR = t.fake().dir .. "/parallel"
os.execute("mkdir -p " .. t.sh_quote(DIR))

local function result_requests(from)
  local out = {}
  for i, r in ipairs(t.log()) do
    if i >= (from or 1) and r.path:find("^/v3/job/result/") then out[#out + 1] = r end
  end
  return out
end

-- a finished job with a result of several chunks, its sequential csv and raw bytes
local function setup(n)
  t.reset()
  local c = t.client()
  local job = c:query(("SELECT * -- fake_rows(%d)"):format(n or 20000), { db = "web" }):wait(FAST)
  local seq_csv, seq_raw = DIR .. "/seq.csv", DIR .. "/seq.msgpack.gz"
  job:download(seq_csv, { parallel = false, header = true })
  job:download(seq_raw, { parallel = false })
  ok(n == 10 or job.result_size > 4 * CHUNK, "the result spans several chunks")
  return c, job, slurp(seq_csv), slurp(seq_raw)
end

test("a parallel download is identical to the sequential one, in several ranged requests", function()
  local _, job, csv, raw = setup()
  local mark = #t.log() + 1
  local s = job:download(DIR .. "/par.csv", { parallel = 4, chunk_size = CHUNK, header = true })
  ok(slurp(DIR .. "/par.csv") == csv, "same csv")
  eq(s.connections, 4)
  eq(s.rows, 20000)
  eq(s.wire_bytes, job.result_size)
  local rs = result_requests(mark)
  local total = job.result_size
  local n = (total + CHUNK - 1) // CHUNK
  eq(#rs, n)
  eq(s.requests, n)
  -- contiguous ranges covering the whole result (the log has them in the
  -- order the server got them, which is not always the order of issue)
  table.sort(rs, function(x, y)
    return tonumber(x.headers["range"]:match("%d+")) < tonumber(y.headers["range"]:match("%d+"))
  end)
  local etag
  for i, r in ipairs(rs) do
    local a, b = r.headers["range"]:match("^bytes=(%d+)%-(%d+)$")
    eq(tonumber(a), (i - 1) * CHUNK, "range start " .. i)
    eq(tonumber(b), math.min(i * CHUNK, total) - 1, "range end " .. i)
    if i == 1 then
      eq(r.headers["if-range"], nil)
    else
      etag = etag or r.headers["if-range"]
      ok(etag and r.headers["if-range"] == etag, "If-Range with the first answer's ETag")
    end
  end

  local s2 = job:download(DIR .. "/par.msgpack.gz", { parallel = 3, chunk_size = CHUNK })
  ok(slurp(DIR .. "/par.msgpack.gz") == raw, "same msgpack.gz bytes")
  eq(s2.connections, 3)
end)

test("rows and records can fetch in parallel; at most `parallel` transfers at a time", function()
  local _, job = setup()
  -- a throttled server, so that transfers overlap
  t.fault { path = "^/v3/job/result/", action = "slow", chunk = 8192, interval = 0.002, times = -1 }
  local n, most = 0, 0
  for row in job:rows { parallel = 3, chunk_size = CHUNK } do
    eq(row[1], n)
    n = n + 1
    most = math.max(most, core.active())
  end
  eq(n, 20000)
  ok(most >= 2 and most <= 3, "2 or 3 transfers at a time, saw at most " .. most)
  local m = 0
  for rec in job:records { parallel = 2, chunk_size = CHUNK } do
    eq(rec.id, m)
    m = m + 1
  end
  eq(m, 20000)
  eq(core.active(), 0)
end)

test("breaking out of a parallel rows loop releases every transfer", function()
  local _, job = setup(200000)
  for row in job:rows { parallel = 4, chunk_size = 100000 } do
    if row[1] == 10 then break end
  end
  eq(core.active(), 0)
end)

test("large results go parallel on their own above parallel_threshold", function()
  local _, job, csv = setup()
  local s = job:download(DIR .. "/auto.csv", { header = true, chunk_size = CHUNK, parallel_threshold = CHUNK })
  eq(s.connections, 4)
  ok(slurp(DIR .. "/auto.csv") == csv, "same csv")
  local s2 = job:download(DIR .. "/small.csv", { header = true, chunk_size = CHUNK })
  eq(s2.connections, 1, "below the default threshold: one connection")
end)

test("each chunk resumes on its own after a break or a server error", function()
  local _, job, csv, raw = setup()
  local mark = #t.log() + 1
  t.fault {
    { path = "^/v3/job/result/", action = "truncate", bytes = 10000, times = 2 },
    { path = "^/v3/job/result/", status = 503, times = 1 },
    { path = "^/v3/job/result/", action = "reset", times = 1 },
    { path = "^/v3/job/result/", action = "truncate", bytes = 5000, times = 1 },
  }
  local s = job:download(DIR .. "/faulty.csv", { parallel = 4, chunk_size = CHUNK, header = true })
  ok(slurp(DIR .. "/faulty.csv") == csv, "same csv despite the faults")
  eq(s.rows, 20000)
  local resumed = 0
  for _, r in ipairs(result_requests(mark)) do
    local a = tonumber(r.headers["range"]:match("^bytes=(%d+)%-"))
    if a % CHUNK ~= 0 then resumed = resumed + 1 end
  end
  ok(resumed >= 3, "resumed mid-chunk " .. resumed .. " times")

  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 7000, times = 3 }
  job:download(DIR .. "/faulty.msgpack.gz", { parallel = 4, chunk_size = CHUNK })
  ok(slurp(DIR .. "/faulty.msgpack.gz") == raw, "same bytes despite the faults")
end)

test("a chunk answered with 200 instead of 206 fails the download; no file is left", function()
  local _, job = setup()
  t.fault {
    { path = "^/v3/job/result/", times = 2 }, -- the first two chunks pass
    { path = "^/v3/job/result/", status = 200, body = "the whole thing, supposedly", times = 1 },
  }
  local path = DIR .. "/refused.csv"
  local e = raises_kind("network", job.download, job, path, { parallel = 4, chunk_size = CHUNK })
  like(e.message, "instead of 206")
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
  eq(core.active(), 0)
end)

test("a chunk whose Content-Range does not match its range fails the download", function()
  local _, job = setup()
  t.fault {
    { path = "^/v3/job/result/", times = 1 },
    { path = "^/v3/job/result/", status = 206, body = "xy", headers = { ["Content-Range"] = "bytes 0-1/2" }, times = 1 },
  }
  local path = DIR .. "/mismatch.jsonl"
  local e = raises_kind("network", job.download, job, path, { parallel = 4, chunk_size = CHUNK })
  like(e.message, "Content%-Range")
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
end)

test("a chunk that keeps breaking gives up", function()
  local _, job = setup()
  local c = t.client { max_retries = 1 }
  local j2 = require("td.v3.job").wrap(c, { job_id = job.job_id, status = "success", result_size = job.result_size,
    hive_result_schema = job.hive_result_schema_json })
  t.fault { path = "^/v3/job/result/", action = "truncate", bytes = 100, times = -1 }
  local path = DIR .. "/broken.csv"
  like(raises_kind("network", j2.download, j2, path, { parallel = 2, chunk_size = CHUNK }).message, "gave up")
  ok(not exists(path) and not exists(path .. ".tmp"), "no file")
end)

test("parallel options are checked", function()
  local _, job = setup(10)
  like(raises_kind("usage", job.rows, job, { parallel = "many" }).message, "'parallel'")
  like(raises_kind("usage", job.rows, job, { chunk_size = 0 }).message, "'chunk_size'")
  like(raises_kind("usage", job.records, job, 3).message, "'opts'")
end)

test("a server that ignores the first range is read over one connection", function()
  local _, job = setup(10)
  local whole = DIR .. "/whole-ref.msgpack.gz"
  job:download(whole, { parallel = false })
  -- the first (probe) request is answered 200 with the whole body
  t.fault { path = "^/v3/job/result/", status = 200, body_file = whole, times = 1 }
  local path = DIR .. "/whole.msgpack.gz"
  local s = job:download(path, { parallel = 4, chunk_size = 4, parallel_threshold = 1 })
  eq(slurp(path), slurp(whole))
  eq(s.connections, 1)
  eq(s.requests, 1)
end)

test("by default the measured throughput decides: a fast link keeps one connection, a slow one opens more", function()
  local result = require "td.v3.result"
  local knobs = { "ADAPTIVE_MIN", "PROBE_SIZE", "DECIDE_AFTER", "FAST_RATE", "MIN_CHUNK_SIZE" }
  local saved = {}
  for i, k in ipairs(knobs) do saved[i] = result[k] end
  local ok2, err = pcall(function()
    local _, job, csv, raw = setup()
    result.ADAPTIVE_MIN, result.PROBE_SIZE, result.DECIDE_AFTER, result.MIN_CHUNK_SIZE = 4 * CHUNK, 1000, 0.05, 1000
    -- fast: one open-ended ranged request carries everything
    result.FAST_RATE = 0
    local mark = #t.log() + 1
    local s = job:download(DIR .. "/adaptive-fast.csv", { header = true })
    ok(slurp(DIR .. "/adaptive-fast.csv") == csv, "same csv")
    eq(s.connections, 1)
    eq(s.requests, 1)
    local rs = result_requests(mark)
    eq(#rs, 1)
    eq(rs[1].headers["range"], "bytes=0-")
    local n = 0
    for _ in job:rows() do n = n + 1 end
    eq(n, 20000)
    -- slow (the link, not the consumer, holds things up): the first request
    -- is cut short and the rest comes over several connections
    result.FAST_RATE = math.huge
    t.fault { path = "^/v3/job/result/", action = "slow", chunk = 4096, interval = 0.01, times = -1 }
    mark = #t.log() + 1
    s = job:download(DIR .. "/adaptive-slow.msgpack.gz")
    ok(slurp(DIR .. "/adaptive-slow.msgpack.gz") == raw, "same msgpack.gz bytes")
    eq(s.connections, result.DEFAULT_PARALLEL)
    ok(s.requests > 2, "more requests: " .. s.requests)
    rs = result_requests(mark)
    eq(rs[1].headers["range"], "bytes=0-")
    n = 0
    for _ in job:rows() do n = n + 1 end
    eq(n, 20000)
    t.clear_faults()
    -- below ADAPTIVE_MIN: one plain request
    result.ADAPTIVE_MIN = job.result_size + 1
    mark = #t.log() + 1
    s = job:download(DIR .. "/adaptive-small.csv", { header = true })
    eq(s.requests, 1)
    eq(result_requests(mark)[1].headers["range"], nil)
  end)
  for i, k in ipairs(knobs) do result[k] = saved[i] end
  if not ok2 then error(err, 0) end
end)
