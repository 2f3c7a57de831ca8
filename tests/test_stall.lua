-- stalls end in a `timeout` error that is retried or resumed within the
-- retry budget (client option stall_timeout), and reading the result of an
-- unfinished job takes wait's timeout
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

local function count(method, pat)
  local n = 0
  for _, r in ipairs(t.log()) do
    if r.method == method and r.path:find(pat) then n = n + 1 end
  end
  return n
end

test("the default stall timeout is a minute, and read_timeout still names it", function()
  eq(t.client().stall_timeout, 60)
  eq(t.client { read_timeout = 5 }.stall_timeout, 5)
  like(raises_kind("usage", td.client, { stall_timout = 5, endpoint = "http://127.0.0.1:1" }).message,
    "did you mean 'stall_timeout'")
end)

test("a JSON call whose server goes silent is retried after stall_timeout", function()
  t.reset()
  local c = t.client { stall_timeout = 1, timeout = 60 }
  t.fault { path = "^/v3/database/list", action = "pass", delay = 3, times = 1 }
  local started = require("td.core").now()
  local dbs = c:databases()
  ok(type(dbs) == "table")
  ok(require("td.core").now() - started < 3, "did not wait for the silent server")
  eq(count("GET", "^/v3/database/list"), 2)
  -- a server that stays silent: a timeout error once the budget is spent
  t.reset()
  local c2 = t.client { stall_timeout = 1, max_retries = 1, timeout = 60 }
  t.fault { path = "^/v3/database/list", action = "pass", delay = 3, times = -1 }
  local e = raises_kind("timeout", c2.databases, c2)
  like(e.message, "stalled")
end)

test("a result stream that stops mid-body resumes after stall_timeout with the exact rows", function()
  t.reset()
  local c = t.client { stall_timeout = 1 }
  local job = c:query("SELECT * -- fake_rows(3000)", { db = "web" }):wait(FAST)
  local want = {}
  for row in job:rows { parallel = false } do want[#want + 1] = row[1] end
  -- the next transfer sends a little, then nothing for longer than the stall timeout
  t.fault { path = "^/v3/job/result/", action = "slow", chunk = 2000, interval = 9, times = 1 }
  local got = {}
  local started = require("td.core").now()
  for row in job:rows { parallel = false } do got[#got + 1] = row[1] end
  eq(#got, #want)
  eq(got, want)
  ok(require("td.core").now() - started < 9, "resumed instead of waiting for the stalled transfer")
  local ranged = 0
  for _, r in ipairs(t.log()) do
    if r.path:find("^/v3/job/result/") and r.headers and (r.headers.Range or r.headers.range) then ranged = ranged + 1 end
  end
  ok(ranged >= 1, "the transfer was resumed with a Range request")
end)

test("reading an unfinished job's result waits with wait's timeout", function()
  t.reset { queued_polls = 1000, running_polls = 1 }
  local c = t.client()
  local job = c:query("SELECT 1", { db = "web" })
  for _, call in ipairs {
    function() return job:rows { timeout = 0.05, progress = false } end,
    function() return job:records { timeout = 0.05, progress = false } end,
    function() return job:fetch(3, { timeout = 0.05, progress = false }) end,
    function() return job:result_table(3, { timeout = 0.05, progress = false }) end,
    function() return job:download(t.fake().dir .. "/unfinished.csv", { timeout = 0.05, progress = false }) end,
  } do
    local e = raises_kind("timeout", call)
    eq(e.job_id, job.job_id)
  end
  like(raises_kind("usage", job.rows, job, { timout = 1 }).message, "did you mean 'timeout'")
  like(raises_kind("usage", job.wait, job, { timout = 1 }).message, "did you mean 'timeout'")
end)
