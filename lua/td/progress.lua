--- td.progress: one updating status line on stderr, only on a terminal.
-- stdout stays clean for data; nothing is printed when stderr is a file or
-- a pipe (cron, CI), unless forced with progress = true.
local core = require "td.core"

local M = {}

local Bar = {}
Bar.__index = Bar

--- A progress line with a fixed label. enabled: true/false/nil (= stderr is a tty).
function M.new(enabled, label)
  if enabled == nil then enabled = core.isatty(2) end
  return setmetatable({ on = enabled, label = label, shown = false, last = 0 }, Bar)
end

function Bar:update(fmt, ...)
  if not self.on then return end
  local t = core.now()
  if self.shown and t - self.last < 0.2 then return end
  self.last = t
  io.stderr:write("\r\27[K", self.label, ": ", fmt:format(...))
  io.stderr:flush()
  self.shown = true
end

function Bar:done()
  if self.on and self.shown then
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

return M
