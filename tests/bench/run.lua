-- tests/bench/run.lua - the performance benchmarks (make bench; issue targets
-- in docs/performance.md). Every scenario runs several times interleaved
-- with its reference, in the same run on the same machine, and prints one
-- line: the figure, the reference, their ratio, the target, met or not.
-- Absolute times on a shared machine are noise; the ratios are the result.
--
--   ./tdlua tests/bench/run.lua [--quick]     (make bench [QUICK=1])
--
-- The result files and canned JSON are served by nginx on 127.0.0.1 (a
-- real, fast web server: the Python fake server is for behaviour, not
-- speed); the dataset is generated once into build/bench (2,000,000 rows x
-- 8 columns as TD writes results; --quick: 500,000) and kept for the next
-- run. Needs the bench packages (scripts/deps.sh --bench): nginx, wrk.
package.path = "tests/lib/?.lua;" .. package.path
local core = require "td.core"

local QUICK = arg[1] == "--quick" or os.getenv("BENCH_QUICK") == "1"
local PWD = os.getenv("PWD") or "."
local DIR = PWD .. "/build/bench"
local BIN = os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"
if not BIN:find("^/") then BIN = PWD .. "/" .. BIN end
local PY = "/usr/bin/python3" -- Debian's, with python3-msgpack
local REPS = QUICK and 3 or 5
local ROWS = QUICK and 500000 or 2000000

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return out
end
local function exists(path) local f = io.open(path) if f then f:close() return true end return false end
local function write(path, s) local f = assert(io.open(path, "wb")) f:write(s) f:close() end
local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return 0 / 0 end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

os.execute("mkdir -p " .. q(DIR .. "/www/v3/job/result") .. " " .. q(DIR .. "/www/v3/job/show") .. " "
  .. q(DIR .. "/www/v3/job/status") .. " " .. q(DIR .. "/www/v3/system") .. " " .. q(DIR .. "/logs"))

-- ---------------------------------------------------------------------------
-- the dataset

local function dataset(rows)
  local file = ("%s/ref-%d.msgpack.gz"):format(DIR, rows)
  local meta = file .. ".meta"
  if not (exists(file) and exists(meta)) then
    io.stderr:write(("generating the %d-row dataset...\n"):format(rows))
    local out = sh(("%s tests/bench/gendata.py %d %s"):format(PY, rows, q(file)))
    write(meta, out)
  end
  local f = assert(io.open(meta))
  local n, sum = f:read("n", "n")
  f:close()
  local size = tonumber(sh("stat -c %s " .. q(file)))
  return { file = file, rows = n, sum = sum, size = size }
end

local SCHEMA = '[["time","bigint"],["small","int"],["price","double"],["user","varchar"],'
  .. '["code","varchar"],["maybe","bigint"],["hex","varchar"],["ratio","double"]]'

-- job <id> is the result in file
local function publish(id, d)
  local www = DIR .. "/www/v3/job"
  os.remove(www .. "/result/" .. id)
  os.execute(("ln -s %s %s"):format(q(d.file), q(www .. "/result/" .. id)))
  local show = ('{"job_id":"%s","status":"success","type":"presto","database":"bench","query":"SELECT *",'
    .. '"result_size":%d,"num_records":%d,"hive_result_schema":%s}'):format(id, d.size, d.rows,
      (require "cjson").encode(SCHEMA))
  write(www .. "/show/" .. id, show)
  write(www .. "/status/" .. id, show)
end

-- ---------------------------------------------------------------------------
-- nginx

local PORT, SLOW_PORT
local function free_port()
  for _ = 1, 50 do
    local p = math.random(20000, 60000)
    if sh(("ss -Hltn 'sport = :%d' 2>/dev/null"):format(p)) == "" then return p end
  end
  error("no free port")
end

local function nginx_conf()
  local user = sh("id -u"):match("^0") and "user root;\n" or ""
  return user .. ([[
worker_processes 1;
error_log DIR/logs/error.log;
pid DIR/logs/nginx.pid;
events { worker_connections 4096; }
http {
  log_format bench '$connection $status $request_uri';
  access_log DIR/logs/access.log bench buffer=64k;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 300;
  default_type application/json;
  types { }
  client_body_temp_path DIR/logs;
  proxy_temp_path DIR/logs;
  fastcgi_temp_path DIR/logs;
  uwsgi_temp_path DIR/logs;
  scgi_temp_path DIR/logs;
  server {
    listen 127.0.0.1:PORT;
    root DIR/www;
    location /v3/job/result/ { default_type application/octet-stream; }
  }
  server {
    listen 127.0.0.1:SLOW;
    root DIR/www;
    location /v3/job/result/ { default_type application/octet-stream; limit_rate 2m; }
  }
}
]]):gsub("DIR", DIR):gsub("SLOW", tostring(SLOW_PORT)):gsub("PORT", tostring(PORT))
end

local function nginx(args)
  return os.execute(("nginx -p %s -c %s %s 2>>%s"):format(q(DIR), q(DIR .. "/nginx.conf"), args or "",
    q(DIR .. "/logs/error.log")))
end

local function nginx_stop()
  local f = io.open(DIR .. "/logs/nginx.pid")
  if f then
    local pid = f:read("n")
    f:close()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    for _ = 1, 50 do
      if not exists(DIR .. "/logs/nginx.pid") then break end
      os.execute("sleep 0.1")
    end
  end
end

-- ---------------------------------------------------------------------------
-- running and reporting

local RESULTS = {}
local function line(name, figure, ref, ratio, target, met)
  local s = ("%-38s %16s | ref %16s | ratio %6.2f | target %-8s %s"):format(name, figure, ref, ratio,
    target, met == nil and "" or (met and "met" or "NOT MET"))
  print(s)
  io.stdout:flush()
  RESULTS[#RESULTS + 1] = s
end

-- one scenario in a process of its own -> { secs=, n=, sum=, rss_kb=, ... }
local function scenario(name, port, ...)
  local args = { BIN, "tests/bench/scenario.lua", name, "http://127.0.0.1:" .. (port or PORT) }
  for _, a in ipairs { ... } do args[#args + 1] = a end
  for i, a in ipairs(args) do args[i] = q(a) end
  local out = sh(table.concat(args, " ") .. " 2>&1")
  local r = {}
  for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
  if not r.secs then error("scenario " .. name .. " failed:\n" .. out, 0) end
  return r
end

-- the wall time of a shell command
local function timed(cmd)
  local t0 = core.now()
  os.execute(cmd)
  return core.now() - t0
end

local function mrows(x) return ("%.2f M rows/s"):format(x / 1e6) end
local function mbs(x) return ("%.0f MB/s"):format(x / 1e6) end
local function mb(kb) return ("%.1f MB"):format(kb / 1024) end

-- ---------------------------------------------------------------------------
-- the scenarios

local function streaming(d)
  local rows, ceil, count, recs, rss = {}, {}, {}, {}, {}
  for _ = 1, REPS do
    local r = scenario("rows", nil, "1")
    assert(r.n == d.rows and r.sum == d.sum, "rows: wrong count or checksum")
    rows[#rows + 1], rss[#rss + 1] = r.n / r.secs, r.rss_kb
    local c = scenario("ceiling", nil, d.file)
    assert(c.n == d.rows and c.sum == d.sum, "ceiling: wrong count or checksum")
    ceil[#ceil + 1] = c.n / c.secs
    local k = scenario("rows_count", nil, "1")
    count[#count + 1] = k.n / k.secs
    local e = scenario("records", nil, "1")
    assert(e.n == d.rows, "records: wrong count")
    recs[#recs + 1] = e.n / e.secs
  end
  local r, c = median(rows), median(ceil)
  line("rows() touching each value", mrows(r), mrows(c) .. " (ceiling)", r / c, ">= 0.80", r / c >= 0.8)
  line("rows() count only", mrows(median(count)), mrows(c) .. " (ceiling)", median(count) / c, "", nil)
  line("records() vs rows()", mrows(median(recs)), mrows(r) .. " (rows)", median(recs) / r, ">= 0.70",
    median(recs) / r >= 0.7)
  line("rows() peak RSS", mb(median(rss)), "24.0 MB", median(rss) / 1024 / 24, "<= 1.00", median(rss) <= 24 * 1024)
  return r
end

local function parallel(d, small)
  local def, one, rd, ro = {}, {}, {}, {}
  for _ = 1, REPS do
    local a = scenario("rows", nil, "1")
    local b = scenario("rows_one", nil, "1")
    def[#def + 1], one[#one + 1], rd[#rd + 1], ro[#ro + 1] = a.secs, b.secs, a.rss_kb, b.rss_kb
  end
  local a, b = median(def), median(one)
  line("rows() default vs 1 connection (fast)", ("%.2f s"):format(a), ("%.2f s"):format(b), a / b, "<= 1.05",
    a / b <= 1.05)
  line("  peak RSS default vs 1 connection", mb(median(rd)), mb(median(ro)), median(rd) / median(ro), "<= 1.10",
    median(rd) / median(ro) <= 1.10)
  def, one = {}, {}
  for _ = 1, math.min(REPS, 3) do
    def[#def + 1] = scenario("rows", SLOW_PORT, "2").secs
    one[#one + 1] = scenario("rows_one", SLOW_PORT, "2").secs
  end
  a, b = median(def), median(one)
  line(("rows() throttled 2 MB/s/conn (%.0f MB)"):format(small.size / 1e6), ("%.2f s"):format(a),
    ("%.2f s"):format(b) .. " (1 conn)", a / b, "<= 0.50", a / b <= 0.5)
end

local function downloads(d, rows_rate)
  local url = ("http://127.0.0.1:%d/v3/job/result/1"):format(PORT)
  local out = DIR .. "/out"
  local mine, curl = {}, {}
  for _ = 1, REPS do
    local r = scenario("download", nil, "1", "msgpack.gz", out .. ".msgpack.gz")
    assert(r.n == d.rows, "download msgpack.gz: wrong row count")
    mine[#mine + 1] = d.size / r.secs
    curl[#curl + 1] = d.size / timed("curl -s -o " .. q(out .. ".curl") .. " " .. q(url))
    os.remove(out .. ".curl")
  end
  local a, b = median(mine), median(curl)
  line("download msgpack.gz (default)", mbs(a), mbs(b) .. " (curl -o)", a / b, ">= 0.95", a / b >= 0.95)
  for _, fmt in ipairs { "csv", "tsv", "jsonl" } do
    local rates = {}
    for _ = 1, REPS do
      local r = scenario("download", nil, "1", fmt, out .. "." .. fmt)
      assert(r.n == d.rows, "download " .. fmt .. ": wrong row count")
      rates[#rates + 1] = r.n / r.secs
    end
    a = median(rates)
    line("download " .. fmt, mrows(a), mrows(rows_rate) .. " (rows)", a / rows_rate, ">= 0.80", a / rows_rate >= 0.8)
  end
end

local function wrk(conns, secs)
  local out = sh(("wrk -t1 -c%d -d%ds http://127.0.0.1:%d/v3/system/server_status"):format(conns, secs, PORT))
  return tonumber(out:match("Requests/sec:%s*([%d.]+)")) or 0 / 0
end

local function small_requests()
  local n = QUICK and 3000 or 10000
  for _, tasks in ipairs { 1, 8 } do
    local mine, ref = {}, {}
    for _ = 1, REPS do
      local r = scenario("small", nil, tostring(n), tostring(tasks))
      mine[#mine + 1] = r.n / r.secs
      ref[#ref + 1] = wrk(tasks, QUICK and 1 or 3)
    end
    local a, b = median(mine), median(ref)
    line(("%d small GETs, %s"):format(n, tasks == 1 and "sequential" or tasks .. " tasks"),
      ("%.1f k req/s"):format(a / 1e3), ("%.1f k req/s"):format(b / 1e3) .. (" (wrk -c%d)"):format(tasks),
      a / b, ">= 0.80", a / b >= 0.8)
  end
end

local function many_waits()
  local n, lo, hi = 1000, 2, 10
  if QUICK then n, lo, hi = 300, 1, 4 end
  local first, last = 1001, 1000 + n
  local p = assert(io.popen(("%s tests/bench/flip.py %s %d %d %g %g 7 > %s"):format(PY, q(DIR .. "/www"), first,
    last, lo, hi, q(DIR .. "/logs/flip.out")), "w"))
  for _ = 1, 600 do
    if sh("cat " .. q(DIR .. "/logs/flip.out")):find("ready") then break end
    os.execute("sleep 0.05")
  end
  local log = DIR .. "/logs/access.log"
  nginx("-s reopen")
  os.execute("sleep 0.2")
  local before = tonumber(sh("wc -l < " .. q(log))) or 0
  p:write("go\n")
  p:flush()
  local r = scenario("waits", nil, tostring(first), tostring(last))
  p:close()
  nginx("-s reopen") -- flushes the buffered log
  os.execute("sleep 0.3")
  local conns, polls = {}, 0
  local nconn = 0
  local k = 0
  for l in io.lines(log) do
    k = k + 1
    if k > before then
      local c, uri = l:match("^(%d+) %d+ (%S+)")
      if uri and uri:find("^/v3/job/status/") then
        polls = polls + 1
        if not conns[c] then conns[c] = true nconn = nconn + 1 end
      end
    end
  end
  line(("%d jobs of %g-%g s waited for at once"):format(n, lo, hi), ("%.1f s"):format(r.secs),
    ("%g s"):format(hi) .. " (longest)", r.secs / hi, "<= 1.20", r.secs / hi <= 1.2)
  line("  peak RSS", mb(r.rss_kb), "48.0 MB", r.rss_kb / 1024 / 48, "<= 1.00", r.rss_kb <= 48 * 1024)
  line("  TCP connections", tostring(nconn), "64", nconn / 64, "<= 1.00", nconn <= 64)
  line("  polls per job", ("%.1f"):format(polls / n), "", 0 / 0, "", nil)
end

local function startup()
  local function per_run(cmd, k)
    return timed(("for i in $(seq %d); do %s >/dev/null 2>&1; done"):format(k, cmd)) / k
  end
  local K = QUICK and 20 or 50
  local mine, client, ref = {}, {}, {}
  local script = q("local c = td.client { apikey = '1/x', endpoint = 'http://127.0.0.1:1' }")
  for _ = 1, REPS do
    ref[#ref + 1] = per_run("lua5.4 -e ''", K)
    mine[#mine + 1] = per_run(q(BIN) .. " -e ''", K)
    client[#client + 1] = per_run(q(BIN) .. " -e " .. script, K)
  end
  local a, b, c = median(mine), median(ref), median(client)
  line("start-up tdlua -e ''", ("%.1f ms"):format(a * 1e3), ("%.1f ms"):format(b * 1e3) .. " (lua5.4)", a / b,
    "<= 1.50", a / b <= 1.5)
  line("start-up, a script that builds a client", ("%.1f ms"):format(c * 1e3), ("%.1f ms"):format(b * 1e3)
    .. " (lua5.4)", c / b, "<= 2.00", c / b <= 2)
end

-- the 20 M-row memory check: the dataset ten times over (gzip members
-- concatenated are one stream), deleted afterwards
local function flat_memory(d)
  local big = { file = DIR .. "/ref-x10.msgpack.gz", rows = d.rows * 10, sum = d.sum * 10, size = d.size * 10 }
  os.execute(("for i in 1 2 3 4 5 6 7 8 9 10; do cat %s; done > %s"):format(q(d.file), q(big.file)))
  publish("3", big)
  local r = scenario("rows", nil, "3")
  os.remove(big.file)
  assert(r.n == big.rows and r.sum == big.sum, "20M rows: wrong count or checksum")
  local base = scenario("rows", nil, "1")
  line(("rows() peak RSS, %d M vs %d M rows"):format(big.rows // 1000000, d.rows // 1000000), mb(r.rss_kb),
    mb(base.rss_kb), r.rss_kb / base.rss_kb, "<= 1.10", r.rss_kb / base.rss_kb <= 1.1)
end

-- ---------------------------------------------------------------------------

local d = dataset(ROWS)
local small = dataset(200000)
publish("1", d)
publish("2", small)
write(DIR .. "/www/v3/system/server_status", '{"status":"ok"}')
math.randomseed(os.time())
PORT, SLOW_PORT = free_port(), free_port()
write(DIR .. "/nginx.conf", nginx_conf())
nginx_stop()
os.remove(DIR .. "/logs/access.log")
assert(nginx(), "nginx did not start (see build/bench/logs/error.log)")
for _ = 1, 50 do
  if exists(DIR .. "/logs/nginx.pid") then break end
  os.execute("sleep 0.1")
end

local machine = sh("nproc"):gsub("%s+$", "") .. " cores, " .. sh("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -1"):gsub("%s+$", "")
print(("tdlua bench%s: %d rows (%.1f MB msgpack.gz), %d runs each, inflater %s; %s; load %s"):format(
  QUICK and " (quick)" or "", d.rows, d.size / 1e6, REPS, core.inflater, machine,
  sh("cut -d' ' -f1-3 /proc/loadavg"):gsub("%s+$", "")))

local ok, err = pcall(function()
  local rows_rate = streaming(d)
  parallel(d, small)
  downloads(d, rows_rate)
  small_requests()
  many_waits()
  startup()
  if not QUICK then flat_memory(d) end
end)
nginx_stop()
write(DIR .. "/last.txt", table.concat(RESULTS, "\n") .. "\n")
if not ok then error(err, 0) end

-- further benchmarks (each prints its own lines)
