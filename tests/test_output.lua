-- where results are written (td.output through job:download): standard
-- output, file handles, FIFOs, devices and symbolic links are written as
-- what they are, never replaced; msgpack.gz downloads are verified
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local slurp, exists, q = t.slurp, t.exists, t.sh_quote
local core = require "td.core"

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }
local DIR = t.fake().dir .. "/output"
os.execute("mkdir -p " .. q(DIR))

local function finished(c, sql)
  return c:query("SELECT * -- " .. sql, { db = "web" }):wait(FAST)
end

local function server_csv(c, job)
  return (td.http.request(c, { path = "/v3/job/result/" .. job.job_id, accept = "*/*", raw = true,
    query = { format = "csv", header = "false" } }))
end

local function env()
  local f = t.fake()
  return { TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "" }
end

test("download to standard output: \"-\" and io.stdout, format required", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(30)")
  local want = server_csv(c, job)
  for _, target in ipairs { '"-"', "io.stdout" } do
    local code, out, err = t.run("-e " .. q(([[
      local j = td.job(%q):wait{ progress = false }
      local s = j:download(%s, { format = "csv" })
      io.stderr:write("rows=", s.rows, "\n")]]):format(job.job_id, target)), env())
    eq(code, 0, err)
    eq(out, want, "stdout carries exactly the csv")
    like(err, "rows=30")
  end
  like(raises_kind("usage", job.download, job, "-").message, "opts.format")
end)

test("download into an open file handle leaves it open for its owner", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(12)")
  local path = DIR .. "/handle.csv"
  local f = assert(io.open(path, "w"))
  f:write("before\n")
  local s = job:download(f, { format = "csv" })
  f:write("after\n")
  f:close()
  eq(s.rows, 12)
  eq(slurp(path), "before\n" .. server_csv(c, job) .. "after\n")
  ok(not exists(path .. ".tmp"))
  local closed = io.open(path)
  closed:close()
  like(raises_kind("usage", job.download, job, closed, { format = "csv" }).message, "closed")
end)

test("a symbolic link keeps pointing where it pointed; its target gets the result", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(7)")
  local real = DIR .. "/real.csv"
  local link = DIR .. "/link.csv"
  local f = assert(io.open(real, "w")); f:write("old"); f:close()
  os.execute(("chmod 640 %s; ln -sf real.csv %s"):format(q(real), q(link)))
  job:download(link)
  eq(core.target(link), "file")
  local p = io.popen("readlink " .. q(link)); local dest = p:read("l"); p:close()
  eq(dest, "real.csv", "still a link to the same file")
  eq(slurp(real), server_csv(c, job))
  local p2 = io.popen("stat -c %a " .. q(real)); local mode = p2:read("l"); p2:close()
  eq(mode, "640", "the target's permission bits are kept")
  ok(not exists(DIR .. "/link.csv.tmp") and not exists(real .. ".tmp"), "no tmp left")
  -- a link whose target does not exist yet: created at the target
  os.execute(("ln -sf newfile.csv %s"):format(q(DIR .. "/dangling.csv")))
  job:download(DIR .. "/dangling.csv")
  eq(slurp(DIR .. "/newfile.csv"), server_csv(c, job))
end)

test("a FIFO and a character device are written straight, never replaced", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(20)")
  local fifo = DIR .. "/pipe"
  os.execute("rm -f " .. q(fifo) .. "; mkfifo " .. q(fifo))
  local got = DIR .. "/from-pipe.csv"
  os.execute(("cat %s > %s &"):format(q(fifo), q(got)))
  local s = job:download(fifo, { format = "csv" })
  eq(s.rows, 20)
  os.execute("sleep 0.2")
  eq(core.target(fifo), "fifo", "the FIFO is still a FIFO")
  eq(slurp(got), server_csv(c, job))
  job:download("/dev/null", { format = "csv" })
  eq(core.target("/dev/null"), "char", "/dev/null is still a device")
  -- a symlink to a device (like /dev/stdout) is written through
  os.execute(("ln -sf /dev/null %s"):format(q(DIR .. "/null-link")))
  job:download(DIR .. "/null-link", { format = "jsonl" })
  eq(core.target("/dev/null"), "char")
end)

test("bad targets raise before any transfer", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(2)")
  local before = #t.log()
  like(raises_kind("usage", job.download, job, DIR).message, "is a directory")
  like(raises_kind("usage", job.download, job, DIR .. "/nodir/x.csv").message, "does not exist")
  like(raises_kind("usage", job.download, job, 42).message, "or a file handle expected, got number")
  eq(#t.log(), before, "nothing was requested")
end)

-- ---------------------------------------------------------------------------
-- msgpack.gz verification

-- a finished job whose msgpack.gz answer is replaced by `bytes`
local function corrupted(c, bytes, name)
  local job = finished(c, "fake_rows(50)")
  local file = DIR .. "/" .. name .. ".bin"
  local f = assert(io.open(file, "wb")); f:write(bytes); f:close()
  t.fault { path = "^/v3/job/result/", status = 200, body_file = file, times = -1 }
  return job
end

test("msgpack.gz downloads are verified: truncated, random, plain msgpack, trailing garbage", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(50)")
  local good = DIR .. "/good.msgpack.gz"
  local s = job:download(good)
  eq(s.rows, 50, "rows are counted, not taken from TD")
  local bytes = slurp(good)
  eq(s.wire_bytes, #bytes)
  local dec = core.decoder { gzip = false }
  local plain = {}
  do -- the same rows as plain msgpack
    local v = core.gzcheck()
    ok(v:update(bytes))
    eq(v:finish(), 50)
  end
  local cases = {
    { "truncated", bytes:sub(1, math.floor(#bytes * 0.6)), "truncated" },
    { "random", ("\x8a\x13\xf0\x01"):rep(300), "corrupt" },
    { "garbage", bytes .. "garbage after the end", "corrupt" },
    { "empty", "", "truncated" },
  }
  for _, cse in ipairs(cases) do
    t.reset()
    local j = corrupted(c, cse[2], cse[1])
    local path = DIR .. "/bad-" .. cse[1] .. ".msgpack.gz"
    local e = raises_kind(cse[3], j.download, j, path, { parallel = false })
    eq(e.job_id, j.job_id)
    ok(not exists(path) and not exists(path .. ".tmp"), cse[1] .. ": nothing left at the path")
  end
  -- plain msgpack (not gzip) is not accepted either
  local pm = core.packer { gzip = false, require_time = false }
  pm:add { a = 1 }
  t.reset()
  local j = corrupted(c, pm:finish(), "plain")
  raises_kind("corrupt", j.download, j, DIR .. "/plain.msgpack.gz", { parallel = false })
  pm:close()
  ok(dec)
  ok(plain)
end)

test("msgpack.gz whose row count disagrees with TD's num_records fails loudly", function()
  t.reset()
  local c = t.client()
  local job = finished(c, "fake_rows(10)")
  local job2 = finished(c, "fake_rows(11)")
  local other = DIR .. "/eleven.msgpack.gz"
  job2:download(other)
  t.fault { path = "^/v3/job/result/" .. job.job_id, status = 200, body_file = other, times = -1 }
  local path = DIR .. "/mismatch.msgpack.gz"
  like(raises_kind("truncated", job.download, job, path, { parallel = false }).message, "bytes of msgpack.gz but TD reported a result_size")
  job.result_size = nil -- without TD's size, the counted rows still disagree
  like(raises_kind("truncated", job.download, job, path, { parallel = false }).message, "11 rows but TD reported 10")
  ok(not exists(path) and not exists(path .. ".tmp"))
end)
