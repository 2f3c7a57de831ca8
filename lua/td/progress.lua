--- td.progress: the one place progress is shown, for every wait, download
-- and td.wait_all. stdout stays clean for data; everything goes to stderr:
--   * stderr is a terminal: one live status line (a two-line summary for a
--     group of objects), redrawn at most 5 times a second, erased at the end;
--   * otherwise (cron, CI, a pipe, a file): plain timestamped log lines
--     through td.log, one every `interval` seconds of waiting (60 by
--     default, so short waits stay silent; TDLUA_PROGRESS_INTERVAL or
--     progress.interval(s) changes it), with no terminal control codes;
--   * --quiet, or progress = false on the call: nothing.
local core = require "td.core"

local M = {}
local host = package.loaded["td.host"] or {}

local interval = tonumber(os.getenv("TDLUA_PROGRESS_INTERVAL") or "") or 60
local tty -- cached isatty(2)
local function is_tty()
  if tty == nil then tty = core.isatty(2) end
  return tty
end

--- progress.interval([seconds]) -> the interval of plain progress lines;
-- sets it when given.
function M.interval(secs)
  if secs ~= nil then
    require("td.errors").check("progress.interval", "seconds", secs, "number")
    interval = secs
  end
  return interval
end

-- the group slot of a coroutine (a wait inside td.wait_all reports there)
local slots = setmetatable({}, { __mode = "k" })

local Bar = {}
Bar.__index = Bar

local Silent = setmetatable({}, { __index = {
  update = function() end, done = function() end,
} })

--- progress.new(enabled, label) -> a bar with :update(fmt, ...) and
-- :done(). enabled: false = nothing; true or nil = shown (live on a
-- terminal, log lines otherwise), unless --quiet. Inside td.wait_all the
-- bar feeds the group's summary instead.
function M.new(enabled, label)
  if enabled == false then return Silent end
  local slot = slots[coroutine.running()]
  if slot then return slot end
  if host.quiet and enabled ~= true then return Silent end
  return setmetatable({ label = label, live = is_tty(), shown = false, last = nil, created = core.now() }, Bar)
end

function Bar:update(fmt, ...)
  local t = core.now()
  local text = fmt:format(...)
  if self.live then
    if self.shown and t - self.last < 0.2 then return end
    self.last = t
    io.stderr:write("\r\27[K", require("td.redact").text(self.label .. ": " .. text))
    io.stderr:flush()
    self.shown = true
  else
    if t - (self.last or self.created) < interval then return end
    self.last = t
    require("td.log").write("info", self.label .. ": " .. text)
  end
end

function Bar:done()
  if self.live and self.shown then
    io.stderr:write("\r\27[K")
    io.stderr:flush()
  end
  self.shown = false
end

--- "1:05", "1:02:03"
function M.clock(secs)
  secs = math.floor(secs)
  local h, m, s = secs // 3600, secs % 3600 // 60, secs % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
  return ("%d:%02d"):format(m, s)
end

-- ---------------------------------------------------------------------------
-- groups: a summary for many objects waited on at once

local Group = {}
Group.__index = Group

local FAILED = { error = true, failed = true, killed = true }
local DONE = { success = true }

local function describe(x)
  if type(x) ~= "table" then return tostring(x) end
  if x.job_id then return "job " .. tostring(x.job_id) end
  if x.id then return "attempt " .. tostring(x.id) end
  return tostring(x)
end

--- progress.group(items, {enabled =, label =}) -> a group: the summary of
-- the objects in items (jobs, attempts, tasks: whatever has .status).
-- group:attach(i) makes waits in the current task report to it;
-- group:finish(i, ok) records item i's end; group:done() erases it.
function M.group(items, opts)
  opts = opts or {}
  local on = opts.enabled ~= false and not (host.quiet and opts.enabled ~= true)
  local g = setmetatable({
    items = items, ended = {}, on = on, live = is_tty(), label = opts.label or "waiting",
    started = core.now(), last = nil, lines = 0, n = #items,
  }, Group)
  return g
end

local function status_of(x)
  if type(x) == "table" then
    local ok, st = pcall(function() return x.status end)
    if ok and type(st) == "string" then return st end
  end
  return "running"
end

--- group:summary() -> the summary lines (an array of strings).
function Group:summary()
  local counts, order = {}, {}
  local slowest
  for i, x in ipairs(self.items) do
    local st
    local e = self.ended[i]
    if e ~= nil then
      st = e and "done" or "failed"
    else
      st = status_of(x)
      if DONE[st] then st = "done" elseif FAILED[st] then st = "failed" end
      if st ~= "done" and st ~= "failed" and not slowest then slowest = i end
    end
    if not counts[st] then order[#order + 1] = st; counts[st] = 0 end
    counts[st] = counts[st] + 1
  end
  local rank = { queued = 1, running = 2, done = 8, failed = 9 }
  table.sort(order, function(a, b) return (rank[a] or 5) < (rank[b] or 5) or
    ((rank[a] or 5) == (rank[b] or 5) and a < b) end)
  local parts = {}
  for _, st in ipairs(order) do parts[#parts + 1] = ("%d %s"):format(counts[st], st) end
  local lines = { ("%s for %d: %s  %s"):format(self.label, self.n, table.concat(parts, ", "),
    M.clock(core.now() - self.started)) }
  if slowest then
    lines[2] = ("slowest: %s (%s)"):format(describe(self.items[slowest]), status_of(self.items[slowest]))
  end
  return lines
end

--- Redraw (terminal) or log (otherwise), throttled; force skips the throttle.
function Group:show(force)
  if not self.on then return end
  local t = core.now()
  if not force then
    if self.live then
      if self.last and t - self.last < 0.2 then return end
    elseif t - (self.last or self.started) < interval then
      return
    end
  end
  self.last = t
  local lines = self:summary()
  local redact = require "td.redact"
  if self.live then
    local out = {}
    if self.lines > 1 then out[1] = ("\27[%dA"):format(self.lines - 1) end
    for i, l in ipairs(lines) do
      out[#out + 1] = "\r\27[K" .. redact.text(l)
      if i < #lines then out[#out + 1] = "\n" end
    end
    if #lines < self.lines then out[#out + 1] = "\n\r\27[K\27[1A" end
    io.stderr:write(table.concat(out))
    io.stderr:flush()
    self.lines = math.max(#lines, self.lines)
  else
    require("td.log").write("info", table.concat(lines, "; "))
  end
end

--- The bar a wait of item i uses: it refreshes the group's summary.
function Group:slot(i)
  local g = self
  return setmetatable({}, { __index = {
    update = function() g:show() end,
    done = function() end,
    index = i,
  } })
end

--- Route progress of the current task (a wait of item i) to the group.
function Group:attach(i)
  slots[coroutine.running()] = self:slot(i)
end

--- Record that item i ended (ok: true/false) and refresh.
function Group:finish(i, ok)
  self.ended[i] = ok and true or false
  self:show()
end

--- Erase the live summary (a terminal), or log the final tally.
function Group:done()
  if not self.on then return end
  if self.live then
    if self.last then
      local out = { "\r\27[K" }
      for _ = 2, self.lines do out[#out + 1] = "\27[1A\r\27[K" end
      io.stderr:write(table.concat(out))
      io.stderr:flush()
    end
  elseif self.last then
    self:show(true)
  end
end

return M
