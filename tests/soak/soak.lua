--- soak: many requests and result streams in one process under random
-- faults; memory, file descriptors and requests in flight must stay flat,
-- every call must end in a result or a structured error.
--   ./tdlua tests/soak/soak.lua [REQUESTS [STREAMS [SEED]]]   (make soak: 10000 100)
-- As a module (tests/test_soak.lua): require("soak").run{requests =, streams =, seed =}
-- returns the figures; raises when a guarantee breaks.
package.path = "tests/lib/?.lua;tests/soak/?.lua;" .. package.path
local t = require "testlib"
local core = require "td.core"

local M = {}

local function my_fds()
  -- /proc/self in a child is the child: ask for our own pid's fd directory
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  local n = 0
  local p = io.popen("ls -1 /proc/" .. pid .. "/fd")
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

local function rss_kb()
  local f = io.open("/proc/self/statm")
  if not f then return 0 end
  local _, res = f:read("n", "n")
  f:close()
  return res * 4
end

local function lua_kb()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

local READS = {
  { "^/v3/database/list$", function(c) return #c:databases() end },
  { "^/v3/account/show$", function(c) return c:account().id end },
  { "^/v3/job/status/", function(c) return c:job_status("1001").status end },
  { "^/v3/table/list/", function(c) return #c:tables("web") end },
}
local FAULTS = {
  { status = 503 }, { status = 500 }, { status = 429, headers = { ["Retry-After"] = "0" } },
  { action = "reset" }, { action = "truncate" }, { action = "close" }, { action = "html", status = 502 },
  { action = "badjson" }, { action = "slow", chunk = 64, interval = 0.001 },
  { action = "pass", chunked = 17 }, { action = "pass", close = true }, { action = "pass", drop_headers = { "ETag" } },
}
local STREAM_FAULTS = {
  { action = "truncate" }, { action = "reset" }, { action = "pass", corrupt = "middle" },
  { action = "pass", chunked = 1000 }, { action = "pass", drop_headers = { "ETag" } },
}

local function structured(e) return type(e) == "table" and type(e.kind) == "string" end

--- run{requests =, streams =, seed =} -> figures
function M.run(o)
  local requests, streams = o.requests or 10000, o.streams or 100
  math.randomseed(o.seed or 42)
  t.reset { queued_polls = 0, running_polls = 0 }
  local c = t.client { retry_max_time = 2, retry_base_delay = 0.001, retry_max_delay = 0.005, timeout = 5, read_timeout = 2 }
  local job = c:query("SELECT * FROM t -- fake_rows(2000)", { db = "web" }):wait { interval = 0.01 }
  local figures = { requests = 0, streams = 0, results = 0, errors = 0, faults = 0, samples = {} }
  local function sample(label)
    local s = { label = label, lua_kb = lua_kb(), rss_kb = rss_kb(), fds = my_fds(), active = core.active() }
    figures.samples[#figures.samples + 1] = s
    return s
  end
  local function call(fn)
    local ok, v = pcall(fn)
    if ok then figures.results = figures.results + 1
    elseif structured(v) then figures.errors = figures.errors + 1
    else error("an unstructured error: " .. tostring(v), 0) end
  end
  -- warm up: connections, caches, module loading
  for i = 1, math.min(200, requests) do call(function() return READS[i % #READS + 1][2](c) end) end
  local base = sample("after warm-up")
  local batch = math.max(1, requests // 10)
  for i = 1, requests do
    if i % 50 == 1 then
      -- a few one-shot faults somewhere in the next 50 requests
      local rules = {}
      for _ = 1, 5 do
        local r = { path = READS[math.random(#READS)][1], times = 1, skip = math.random(0, 12) }
        for k, v in pairs(FAULTS[math.random(#FAULTS)]) do r[k] = v end
        rules[#rules + 1] = r
      end
      t.clear_faults()
      t.fault(rules)
      figures.faults = figures.faults + #rules
    end
    call(function() return READS[math.random(#READS)][2](c) end)
    figures.requests = figures.requests + 1
    if i % batch == 0 then sample(("after %d requests"):format(i)) end
  end
  for i = 1, streams do
    t.clear_faults()
    local r = { path = "^/v3/job/result/", times = 1 }
    for k, v in pairs(STREAM_FAULTS[math.random(#STREAM_FAULTS)]) do r[k] = v end
    if math.random(3) > 1 then t.fault(r); figures.faults = figures.faults + 1 end
    call(function()
      local n = 0
      for _ in job:rows() do n = n + 1 end
      if n ~= 2000 then error("a stream gave " .. n .. " rows, want 2000", 0) end
      return n
    end)
    figures.streams = figures.streams + 1
  end
  t.clear_faults()
  local last = sample("at the end")
  figures.base, figures.last = base, last
  -- the guarantees
  if last.active ~= 0 then error(("%d requests still in flight at the end"):format(last.active), 0) end
  if os.getenv("SOAK_NOCHECK") then return figures end
  -- idle connections stay in the pool up to the cap (td.core.configure's
  -- max_connections); beyond that, every descriptor must have been closed
  local cap = core.configure {}.max_connections
  figures.cap = cap
  if last.fds > base.fds + cap + 4 then
    error(("file descriptors grew from %d to %d (the connection cap is %d)"):format(base.fds, last.fds, cap), 0)
  end
  if last.lua_kb > base.lua_kb * 1.5 + 512 then
    error(("Lua memory grew from %.0f KiB to %.0f KiB"):format(base.lua_kb, last.lua_kb), 0)
  end
  if last.rss_kb > base.rss_kb + 32 * 1024 then
    error(("resident memory grew from %d KiB to %d KiB"):format(base.rss_kb, last.rss_kb), 0)
  end
  return figures
end

if not pcall(debug.getlocal, 4, 1) then -- run as a script
  local t0 = core.now()
  local f = M.run { requests = tonumber(arg[1]), streams = tonumber(arg[2]), seed = tonumber(arg[3]) }
  for _, s in ipairs(f.samples) do
    print(("%-22s Lua %8.0f KiB  RSS %7d KiB  fds %3d  in flight %d"):format(s.label, s.lua_kb, s.rss_kb, s.fds, s.active))
  end
  print(("%d requests, %d result streams, %d faults injected: %d results, %d structured errors, %.0fs"):format(
    f.requests, f.streams, f.faults, f.results, f.errors, core.now() - t0))
  t.stop_fake()
end

return M
