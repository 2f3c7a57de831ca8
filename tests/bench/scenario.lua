-- tests/bench/scenario.lua - one timed benchmark scenario, in a process of
-- its own (so its peak RSS is its own). Run by tests/bench/run.lua:
--   tdlua tests/bench/scenario.lua NAME ENDPOINT [ARG...]
-- Prints one line: "secs=<wall> n=<rows or requests> sum=<checksum>
-- rss_kb=<peak RSS> [key=value...]".
local core = require "td.core"
local http = require "td.http"

local name, endpoint = arg[1], arg[2]
local extra = {}

local function peak_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end

local function client()
  return td.client { apikey = "1/0123456789abcdef0123456789abcdef01234567", endpoint = endpoint,
    retry_base_delay = 0.05 }
end

local function touch(row)
  for i = 1, #row do local _ = row[i] end
  return row[2]
end

local S = {}

-- the ceiling: the same decoder building the same Lua values over the
-- already-inflated bytes in memory (inflating is not timed)
function S.ceiling(file)
  local d = core.decoder { rows = true }
  do -- the inflated bytes go into the decoder's own (C) buffer, untimed;
     -- none stays on the Lua heap, whose size would slow the collector
    local f = assert(io.open(file, "rb"))
    local raw = core.gunzip(f:read("a"))
    f:close()
    d:feed(raw)
    d:finish()
  end
  collectgarbage()
  collectgarbage()
  local t0 = core.now()
  local n, sum = 0, 0
  for row in d:iter(function() end) do
    n = n + 1
    sum = sum + touch(row)
  end
  return core.now() - t0, n, sum
end

local function rows_with(opts, how)
  local c = client()
  local job = c:job(arg[3] or "1")
  local t0 = core.now()
  local n, sum = 0, 0
  if how == "records" then
    for _ in job:records(opts) do n = n + 1 end
  elseif how == "count" then
    for _ in job:rows(opts) do n = n + 1 end
  else
    for row in job:rows(opts) do
      n = n + 1
      sum = sum + touch(row)
    end
  end
  return core.now() - t0, n, sum
end

function S.rows() return rows_with(nil) end
function S.rows_one() return rows_with { parallel = false } end
function S.rows_count() return rows_with(nil, "count") end
function S.records() return rows_with(nil, "records") end

function S.download(id, fmt, out)
  local c = client()
  local job = c:job(id)
  local t0 = core.now()
  local r = job:download(out, { format = fmt, progress = false })
  local secs = core.now() - t0
  extra.bytes = r.bytes
  extra.connections = r.connections
  os.remove(out)
  return secs, r.rows, 0
end

-- count GET requests to a small endpoint: sequential, or over `tasks` tasks
function S.small(n, tasks)
  n, tasks = tonumber(n), tonumber(tasks) or 1
  local c = client()
  http.request(c, { path = "/v3/system/server_status" }) -- connect first
  local t0 = core.now()
  if tasks == 1 then
    for _ = 1, n do http.request(c, { path = "/v3/system/server_status" }) end
  else
    local list = {}
    for k = 1, tasks do
      list[k] = td.spawn(function()
        for _ = 1, n // tasks do http.request(c, { path = "/v3/system/server_status" }) end
      end)
    end
    td.wait_all(list)
  end
  return core.now() - t0, n, 0
end

-- wait for jobs first..last at once (their status files flip to success)
function S.waits(first, last)
  local c = client()
  local jobmod = require "td.v3.job"
  local jobs = {}
  for id = tonumber(first), tonumber(last) do
    jobs[#jobs + 1] = jobmod.wrap(c, { job_id = tostring(id), status = "running" })
  end
  local t0 = core.now()
  td.wait_all(jobs, { progress = false })
  return core.now() - t0, #jobs, 0
end

local fn = S[name] or error("unknown scenario " .. tostring(name))
local secs, n, sum = fn(table.unpack(arg, 3))
local parts = { ("secs=%.6f n=%d sum=%d rss_kb=%d"):format(secs, n, sum, peak_kb()) }
for k, v in pairs(extra) do parts[#parts + 1] = k .. "=" .. tostring(v) end
print(table.concat(parts, " "))
