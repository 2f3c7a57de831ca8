--- td.run: the life of a script run by tdlua, from start to exit status.
-- The host (src/main.c) calls run.start() before the script (strict
-- globals, --journal, --lock, --max-runtime), run.finish() after it (loops
-- started with td.every/td.cron keep the script alive until they end or
-- are stopped), run.repl() before the REPL, and run.report(err, ...) when
-- the script fails: it runs the td.on_error handlers once, prints one line
-- and picks the exit status from the error's kind.
--
-- Exit statuses (run.STATUS), so cron and CI can tell failures apart:
--
-- | status | name         | when                                                  |
-- |--------|--------------|-------------------------------------------------------|
-- | 0      | success      | the script finished (or a loop stopped on a signal)   |
-- | 1      | error        | any other error (network, server, not_found, ...)     |
-- | 2      | usage        | bad command line, or a `usage` error in the script    |
-- | 3      | job_failed   | a job or workflow attempt ended in error              |
-- | 4      | killed       | a job or attempt was killed                           |
-- | 5      | timeout      | a wait timed out, or --max-runtime / td.timeout      |
-- | 6      | auth         | the API key was refused (401/403)                     |
-- | 7      | rate_limited | TD kept answering 429                                 |
-- | 8      | declined     | td.confirm was answered no (or could not be asked)    |
-- | 9      | locked       | another run holds the --lock file                     |
-- | 130    | interrupted  | Ctrl-C or SIGTERM (outside a loop's clean stop)       |
--
-- A `some_failed` error (td.wait_all, td.map: several failures in one) exits
-- with the status its failures share (3 when every one is a failed job or
-- attempt), else 1.
local M = {}

local host = package.loaded["td.host"] or {}

M.STATUS = {
  success = 0, error = 1, usage = 2, job_failed = 3, killed = 4, timeout = 5,
  auth = 6, rate_limited = 7, declined = 8, locked = 9, interrupted = 130,
}

-- error kind -> status name
local KIND_STATUS = {
  usage = "usage", job_failed = "job_failed", attempt_failed = "job_failed",
  job_killed = "killed", attempt_killed = "killed", timeout = "timeout",
  auth = "auth", forbidden = "auth", rate_limited = "rate_limited",
  aborted = "declined", declined = "declined", locked = "locked", interrupted = "interrupted",
}

--- run.status_of(err) -> the exit status for an error value (see the table).
function M.status_of(err)
  local kind = type(err) == "table" and err.kind
  if err == "interrupted" then kind = "interrupted" end
  if kind == "some_failed" and type(err.failures) == "table" and err.failures[1] then
    local status, name = M.status_of(err.failures[1].err)
    for _, f in ipairs(err.failures) do
      if M.status_of(f.err) ~= status then return M.STATUS.error, "error" end
    end
    return status, name
  end
  local name = KIND_STATUS[kind] or "error"
  return M.STATUS[name], name
end

-- ---------------------------------------------------------------------------
-- strict globals

local strict_on = false
local declared = {}

local function strict_index(_, k)
  if declared[k] or not strict_on then return nil end
  local errors = require "td.errors"
  local names = {}
  for name in pairs(_G) do if type(name) == "string" then names[#names + 1] = name end end
  local near = errors.nearest(tostring(k), names)
  errors.raise {
    kind = "usage",
    message = ("undefined global '%s'%s"):format(tostring(k), near and (" (did you mean '" .. near .. "'?)") or ""),
    hint = "declare it at the top level, use a local, or run with --no-strict",
  }
end

local function strict_newindex(t, k, v)
  if strict_on and not declared[k] then
    local info = debug.getinfo(2, "S")
    local what = info and info.what or "C" -- no caller: the host itself
    if what ~= "main" and what ~= "C" then
      require("td.errors").raise {
        kind = "usage",
        message = ("assignment to undeclared global '%s' inside a function"):format(tostring(k)),
        hint = "declare it at the top level, use a local, or run with --no-strict",
      }
    end
  end
  declared[k] = true
  rawset(t, k, v)
end

--- td.strict([on]) -> whether strict globals are on; turns them on or off.
-- On by default for scripts run by tdlua (off with --no-strict and in the
-- REPL): reading a global that was never assigned raises a usage error
-- naming the nearest existing one, and a function may not create a new
-- global (the top level of the script declares them, even `x = nil`).
function M.strict(on)
  if on == nil then return strict_on end
  strict_on = on and true or false
  if strict_on then
    for k in pairs(_G) do declared[k] = true end
    local mt = getmetatable(_G)
    if mt == nil then
      setmetatable(_G, { __index = strict_index, __newindex = strict_newindex })
    elseif mt.__index ~= strict_index then
      mt.__index, mt.__newindex = strict_index, strict_newindex
    end
  end
  return strict_on
end

-- ---------------------------------------------------------------------------
-- on_error

local handlers = {}
local reported = false

--- td.on_error(fn) - run fn(err, status) once when the script is about to
-- exit with an error (after the one-line message is printed), for example
-- to post an alert with td.notify. Handlers run in the order added; an
-- error inside one is logged and the next runs. Returns fn.
function M.on_error(fn)
  require("td.errors").check("td.on_error", "fn", fn, "function")
  handlers[#handlers + 1] = fn
  return fn
end

local function run_handlers(err, status)
  if reported then return end
  reported = true
  local list = handlers
  handlers = {}
  for _, fn in ipairs(list) do
    local ok, e = pcall(fn, err, status)
    if not ok then require("td.log").error("td.on_error handler failed: %s", tostring(e)) end
  end
end

--- run.report(err, traceback, interrupted, timed_out, progname) -> status:
-- print the one line (redacted; a JSON log line with --log-format json),
-- run the on_error handlers, and return the exit status.
function M.report(err, traceback, interrupted, timed_out, progname)
  local redact = require "td.redact"
  local status, name = M.status_of(err)
  local msg
  if timed_out then
    status, name = M.STATUS.timeout, "timeout"
    msg = ("timeout: the script ran longer than --max-runtime %s and was stopped"):format(tostring(host.max_runtime))
    err = require("td.errors").new { kind = "timeout", message = msg }
  elseif interrupted then
    status, name = M.STATUS.interrupted, "interrupted"
  end
  if not msg then
    local ok, s = pcall(tostring, err)
    if type(err) ~= "string" and type(err) ~= "number" and getmetatable(err) == nil then
      s = ("(error object is a %s value)"):format(type(err))
    elseif not ok then
      s = "(error)"
    end
    msg = s
  end
  msg = redact.text(msg)
  local log = require "td.log"
  if log.format() == "json" then
    log.write("error", msg, { status = status, exit = name, kind = type(err) == "table" and err.kind or nil })
    if traceback then io.stderr:write(redact.text(traceback), "\n") end
  else
    io.stderr:write(progname or "tdlua", ": ", redact.text(traceback or msg), "\n")
  end
  io.stderr:flush()
  run_handlers(err, status)
  return status
end

-- ---------------------------------------------------------------------------
-- phases

local lock_handle

--- td.lock(path) - hold an exclusive lock on path for the rest of the run,
-- so two runs of the same runbook (two cron ticks) never overlap. When
-- another process holds it, raises `locked` (exit status 9) at once.
-- `tdlua --lock FILE` does the same before the script starts.
function M.lock(path)
  local errors = require "td.errors"
  errors.check("td.lock", "path", path, "string")
  local fn = host.lock_file
  if type(fn) ~= "function" then
    errors.raise { kind = "usage", message = "td.lock needs the tdlua program (it is not available in a plain lua5.4)" }
  end
  local l, why, pid = fn(path)
  if not l then
    if why == "locked" then
      errors.raise { kind = "locked", message = ("another run holds the lock %s%s"):format(path,
        pid and pid > 0 and (" (pid " .. pid .. ")") or ""), hint = "it exits when that run ends" }
    end
    errors.raise { kind = "io", message = "td.lock: " .. tostring(why) }
  end
  lock_handle = lock_handle or {}
  lock_handle[#lock_handle + 1] = l
  return true
end

--- run.start(): before the script: strict globals (unless --no-strict),
-- --lock, --journal and --max-runtime.
function M.start()
  if not host.no_strict then M.strict(true) end
  if host.lock then M.lock(host.lock) end
  if host.journal then require("td.journal").open(host.journal) end
  if host.max_runtime then
    local secs = require("td.async").duration(host.max_runtime)
    if not secs or secs <= 0 then
      require("td.errors").raise { kind = "usage",
        message = ("--max-runtime: a duration like 90, \"90s\", \"10m\" or \"2h\" expected (got %q)"):format(host.max_runtime) }
    end
    host.set_alarm(secs)
  end
end

--- run.finish(): after the script: wait for the loops it started.
function M.finish()
  local async = package.loaded["td.async"]
  if async and async.wait_loops then async.wait_loops() end
end

--- run.repl(): before the REPL: globals are free there.
function M.repl()
  M.strict(false)
end

return M
