--- td.workflow.logs: an attempt's task logs.
-- Lists the log files (GET /api/logs/{attempt}/files), downloads each one -
-- through its pre-signed `direct` URL when the server gives one, without
-- the API key (it belongs to TD, not to the storage host), else through
-- /api/logs/{attempt}/files/{name} - gunzips it and orders the files task
-- by task in the order the tasks started, as `digdag log` does. follow()
-- polls for new lines like `digdag log -f`.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local http = require "td.http"
local base = require "td.workflow.base"

local M = {}

local LEVELS = { trace = 0, debug = 1, info = 2, warn = 3, warning = 3, error = 4 }
M.LEVELS = LEVELS

local function check_task(fname, task)
  if task == nil then return nil end
  errors.check(fname, "task", task, "string")
  if task:sub(1, 1) ~= "+" then
    errors.raise { kind = "usage", message = ("bad argument 'task' to '%s' (a task name prefix such as \"+wf+step\" expected, got %q)"):format(fname, task) }
  end
  return task
end

local function check_level(fname, level)
  level = level or "info"
  errors.check(fname, "level", level, "string")
  local n = LEVELS[level:lower()]
  if not n then
    errors.raise { kind = "usage", message = ("bad argument 'level' to '%s' (trace, debug, info, warn or error expected, got %q)"):format(fname, level) }
  end
  return n
end

--- The log file handles of an attempt, ordered: files grouped by task, the
-- groups by their first file's time, files in a group by time and name.
function M.files(client, attempt_id, opts)
  opts = base.opts("attempt:log_files", opts, { task = true, direct = true })
  local task = check_task("attempt:log_files", opts.task)
  local d = base.request(client, {
    path = base.path("/api/logs/%s/files", attempt_id),
    query = { task = task, direct_download = opts.direct == false and "false" or nil },
  })
  local files, first = {}, {}
  for i, h in ipairs(d.files or {}) do
    local f = base.fields(h)
    f.time_key = f.fileTimestamp or f.fileTime or ""
    files[i] = f
    local tn = f.taskName or ""
    if not first[tn] or f.time_key < first[tn] then first[tn] = f.time_key end
  end
  table.sort(files, function(a, b)
    local ta, tb = a.taskName or "", b.taskName or ""
    if ta ~= tb then
      if first[ta] ~= first[tb] then return first[ta] < first[tb] end
      return ta < tb
    end
    if a.time_key ~= b.time_key then return a.time_key < b.time_key end
    return (a.fileName or "") < (b.fileName or "")
  end)
  return files
end

--- The raw (still gzipped) bytes of one log file.
local function fetch(client, attempt_id, h)
  if h.direct then
    -- a pre-signed storage URL: the API key must not travel there
    local ok, body = pcall(http.request, client, {
      method = "GET", url = h.direct, auth = false, raw = true, accept = "*/*", idempotent = true,
    })
    if ok then return body end
    -- an expired or refused link: the API serves the same file
  end
  return (base.request(client, {
    path = base.path("/api/logs/%s/files/%s", attempt_id, h.fileName),
    raw = true, accept = "application/gzip, */*",
  }))
end

--- attempt:log_file(handle_or_name) -> the text of one log file.
function M.file(client, attempt_id, h)
  if type(h) == "string" then
    h = { fileName = h }
  elseif type(h) ~= "table" or type(h.fileName) ~= "string" then
    errors.raise { kind = "usage", message = "bad argument 'file' to 'attempt:log_file' (a handle from attempt:log_files() or a file name expected)" }
  end
  local raw = fetch(client, attempt_id, h)
  if raw:sub(1, 2) ~= "\31\139" then return raw end -- served already decoded
  local ok, text = pcall(core.gunzip, raw)
  if not ok then
    errors.raise { kind = "bad_response", message = ("log file %s of attempt %s is not valid gzip data (%s)"):format(h.fileName, attempt_id, tostring(text)) }
  end
  return text
end

local function split(text)
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local tail = text:match("([^\n]+)$")
  if tail then lines[#lines + 1] = tail end
  return lines
end

local HEADER = "^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d[%.%d]* [%+%-]%d%d%d%d %[(%u+)%]"

--- The level of a digdag log line, or nil for a continuation line.
function M.line_level(line)
  local l = line:match(HEADER)
  return l and LEVELS[l:lower()]
end

--- The lines of a file starting at line `from`, filtered by level (a line
-- without a header - a stack trace, a command's output - has the level of
-- the line before it). Returns the kept lines and the last level seen.
local function filter(lines, from, min, level)
  local out = {}
  for i = from, #lines do
    level = M.line_level(lines[i]) or level
    if level >= min then out[#out + 1] = lines[i] end
  end
  return out, level
end

--- attempt:logs{task =, level = "info", direct = true} -> array of lines.
function M.lines(client, attempt_id, opts)
  opts = base.opts("attempt:logs", opts, { task = true, level = true, direct = true })
  local min = check_level("attempt:logs", opts.level)
  local out = {}
  for _, h in ipairs(M.files(client, attempt_id, { task = opts.task, direct = opts.direct })) do
    local kept = filter(split(M.file(client, attempt_id, h)), 1, min, LEVELS.info)
    table.move(kept, 1, #kept, #out + 1, out)
  end
  return out
end

local RUNNING = { blocked = true, ready = true, retry_waiting = true, group_retry_waiting = true, running = true, planned = true }

--- attempt:follow_logs (see td/workflow/attempt.lua).
function M.follow(client, attempt, opts)
  opts = base.opts("attempt:follow_logs", opts, {
    task = true, level = true, on_line = true, interval = true, max_interval = true, timeout = true, direct = true,
  })
  local task = check_task("attempt:follow_logs", opts.task)
  local min = check_level("attempt:follow_logs", opts.level)
  local on_line = opts.on_line or function(line) io.stdout:write(line, "\n") io.stdout:flush() end
  errors.check("attempt:follow_logs", "on_line", on_line, "function")
  local first = opts.interval or 0.5
  local cap = opts.max_interval or 10
  errors.check("attempt:follow_logs", "interval", first, "number")
  errors.check("attempt:follow_logs", "max_interval", cap, "number")
  if opts.timeout ~= nil then errors.check("attempt:follow_logs", "timeout", opts.timeout, "number") end
  local deadline = opts.timeout and core.now() + opts.timeout
  local seen = {} -- fileName -> { size =, count =, level = }

  local function pass()
    local news = false
    for _, h in ipairs(M.files(client, attempt.id, { task = task, direct = opts.direct })) do
      local s = seen[h.fileName]
      if not s or s.size ~= h.fileSize then
        local lines = split(M.file(client, attempt.id, h))
        s = s or { count = 0, level = LEVELS.info }
        if #lines > s.count then
          local kept, level = filter(lines, s.count + 1, min, s.level)
          for _, line in ipairs(kept) do on_line(line, h.taskName) end
          s.count, s.level = #lines, level
          news = true
        end
        s.size = h.fileSize
        seen[h.fileName] = s
      end
    end
    return news
  end

  local function finished()
    attempt:refresh()
    if attempt.done == true then return true end
    if task then
      for _, t in ipairs(attempt:tasks()) do
        if t.fullName and t.fullName:sub(1, #task) == task and RUNNING[t.state] then return false end
      end
      return true
    end
    return false
  end

  local interval = first
  while true do
    local done = finished()
    local news = pass()
    if done then return attempt end
    if deadline and core.now() >= deadline then
      errors.raise { kind = "timeout", attempt_id = attempt.id, message = ("stopped following the logs of attempt %s after %gs (it keeps running)"):format(attempt.id, opts.timeout) }
    end
    interval = news and first or math.min(interval * 2, cap)
    local wait = interval
    if deadline then wait = math.max(0, math.min(wait, deadline - core.now())) end
    async.sleep(wait)
  end
end

return M
