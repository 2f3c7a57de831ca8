--- td.workflow.timeline: a text picture of an attempt's tasks.
--   attempt 13  etl/daily  session 2026-11-22T00:00:00+00:00  success  3m00s
--   task               state    start     took  |timeline                 |
--   +daily             success  02:00:05  3m00s |#########################|
--     +extract         success  02:00:05  1m00s |########                 |
-- Each bar covers the task's start to its last update (now while it runs)
-- on one time axis for the whole attempt.
local M = {}

local MARK = { success = "#", error = "X", group_error = "X", canceled = "-", running = ">", planned = "=", retry_waiting = "~" }

local function dur(s)
  if not s then return "" end
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  if s < 3600 then return ("%dm%02ds"):format(s // 60, s % 60) end
  return ("%dh%02dm"):format(s // 3600, s % 3600 // 60)
end
M.duration = dur

local function width(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function pad(s, n) return s .. (" "):rep(math.max(0, n - width(s))) end

--- render(attempt, tasks, {width = 40, now =}) -> text
function M.render(a, tasks, opts)
  opts = opts or {}
  local cols = opts.width or 40
  local now = opts.now or os.time()
  local depth, byid = {}, {}
  for _, t in ipairs(tasks) do byid[t.id] = t end
  local function d(t)
    if depth[t] then return depth[t] end
    local p = t.parentId and byid[t.parentId]
    depth[t] = p and (d(p) + 1) or 0
    return depth[t]
  end
  local lo, hi
  local rows = {}
  local began = a.created_epoch
  for _, t in ipairs(tasks) do
    local s = t.started_epoch
    local e
    if s and began and s < began then
      -- carried over from the attempt this one resumed: not run here
      rows[#rows + 1] = { t = t, carried = true }
      s = nil
    elseif s then
      local active = t.state == "running" or t.state == "planned" or t.state == "retry_waiting"
      e = active and math.max(now, s) or (t.updated_epoch or s)
      if e < s then e = s end
      lo = lo and math.min(lo, s) or s
      hi = hi and math.max(hi, e) or e
    end
    if not (rows[#rows] and rows[#rows].t == t) then rows[#rows + 1] = { t = t, s = s, e = e } end
  end
  local span = (lo and hi and hi > lo) and (hi - lo) or 1
  local namew = 4
  for _, r in ipairs(rows) do
    r.name = ("  "):rep(d(r.t)) .. tostring(r.t.fullName or r.t.name or "?")
    namew = math.max(namew, width(r.name))
  end
  local out = {}
  local total = a.finished_epoch and a.created_epoch and (a.finished_epoch - a.created_epoch)
    or (a.created_epoch and (now - a.created_epoch))
  out[1] = ("attempt %s  %s/%s  session %s  %s  %s"):format(tostring(a.id), a.project_name or "?",
    a.workflow_name or "?", a.sessionTime or "?", a.status or "?", dur(total))
  out[2] = ("%s  %-11s  %-8s  %6s  |%s|"):format(pad("task", namew), "state", "start", "took", pad("timeline", cols))
  for _, r in ipairs(rows) do
    local bar
    if r.s then
      local from = math.floor((r.s - lo) / span * cols)
      local to = math.max(from + 1, math.floor((r.e - lo) / span * cols + 0.5))
      if to > cols then to = cols end
      if from >= cols then from = cols - 1 end
      bar = (" "):rep(from) .. (MARK[r.t.state] or "."):rep(to - from) .. (" "):rep(cols - to)
    else
      bar = (" "):rep(cols)
    end
    out[#out + 1] = ("%s  %-11s  %-8s  %6s  |%s|%s"):format(pad(r.name, namew), tostring(r.t.state or "?"),
      r.s and os.date("!%H:%M:%S", r.s) or "-", r.s and dur(r.e - r.s) or "", bar, r.carried and " (carried over)" or "")
  end
  return table.concat(out, "\n")
end

return M
