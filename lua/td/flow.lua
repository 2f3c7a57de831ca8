--- td.flow: retrying, bounding and racing pieces of a runbook.
--   td.retry(fn, {attempts = 5, delay = 1, backoff = 2, max_delay = 60, retry_if = fn})
--   td.timeout(seconds, fn, ...)
--   td.race(fn1, fn2, ...)
-- All of them wait without blocking other tasks.
local async = require "td.async"
local errors = require "td.errors"

local M = {}

local RETRY_OPTS = { attempts = true, delay = true, backoff = true, max_delay = true, retry_if = true, jitter = true }

-- errors that retrying cannot fix
local NEVER = { usage = true, auth = true, forbidden = true, config = true, aborted = true,
  declined = true, interrupted = true, locked = true }

--- td.retry(fn, {attempts = 3, delay = 1, backoff = 2, max_delay = 60,
-- jitter = true, retry_if = function(err, attempt) -> bool}) -> fn's
-- results. Calls fn(attempt) until it returns; after a failure it sleeps
-- delay * backoff^(n-1) seconds (at most max_delay; with full jitter unless
-- jitter = false) and tries again, at most `attempts` times in all. By
-- default every error is retried except usage, auth, forbidden, config,
-- declined and interrupted ones; retry_if decides instead when given. The
-- last error is raised, with `attempts` set to the number of tries. Each
-- retry is logged as a warning.
function M.retry(fn, opts)
  errors.check("td.retry", "fn", fn, "function")
  opts = errors.opts("td.retry", opts, RETRY_OPTS)
  local attempts = opts.attempts or 3
  if math.type(attempts) ~= "integer" or attempts < 1 then
    errors.raise { kind = "usage", message = "bad argument 'attempts' to 'td.retry' (a positive integer expected)" }
  end
  local delay = async.duration(opts.delay or 1)
  local backoff = opts.backoff or 2
  local max_delay = async.duration(opts.max_delay or 60)
  if not delay or delay < 0 or not max_delay or type(backoff) ~= "number" or backoff < 1 then
    errors.raise { kind = "usage", message = "td.retry: delay and max_delay must be durations, backoff a number >= 1" }
  end
  if opts.retry_if ~= nil then errors.check("td.retry", "retry_if", opts.retry_if, "function") end
  for n = 1, attempts do
    local r = table.pack(pcall(fn, n))
    if r[1] then return table.unpack(r, 2, r.n) end
    local err = r[2]
    local again
    if opts.retry_if then again = opts.retry_if(err, n)
    else again = not (errors.is(err) and NEVER[err.kind]) and err ~= "interrupted" end
    if not again or n == attempts then
      if errors.is(err) and n > 1 then err.attempts = n end
      error(err, 0)
    end
    local wait = math.min(max_delay, delay * backoff ^ (n - 1))
    if opts.jitter ~= false then wait = wait * math.random() end
    require("td.log").warn("td.retry: attempt %d of %d failed (%s); again in %.1fs", n, attempts, tostring(err), wait)
    async.sleep(wait)
  end
end

--- td.timeout(seconds, fn, ...) -> fn(...)'s results, or raises `timeout`
-- when fn has not returned within seconds (a number or a duration such as
-- "10m"). fn runs as a task; on timeout it is cancelled: its pending
-- requests are dropped (work it started in TD keeps running there).
function M.timeout(seconds, fn, ...)
  local secs = async.duration(seconds)
  if not secs or secs < 0 then
    errors.raise { kind = "usage", message = "bad argument 'seconds' to 'td.timeout' (seconds or a duration like \"10m\" expected)" }
  end
  errors.check("td.timeout", "fn", fn, "function")
  local task = async.spawn(fn, ...)
  local timer = async.spawn(async.sleep, secs)
  local first = async.wait_any { task, timer }
  if first ~= task then
    async.cancel(task, errors.new { kind = "timeout", retryable = false,
      message = ("td.timeout: did not finish within %gs"):format(secs) })
  else
    async.cancel(timer)
  end
  return async.wait(task)
end

--- td.race(fn1, fn2, ...) -> i, results: runs every function as a task and
-- returns as soon as the first one ends: its index and its results (or
-- raises its error). The others are cancelled.
function M.race(...)
  local n = select("#", ...)
  if n == 0 then errors.raise { kind = "usage", message = "td.race: at least one function expected" } end
  local list = {}
  for i = 1, n do
    local fn = select(i, ...)
    errors.check("td.race", "fn" .. i, fn, "function")
    list[i] = async.spawn(fn)
  end
  local first = async.wait_any(list)
  local index
  for i, t in ipairs(list) do
    if t == first then index = i
    else async.cancel(t, errors.new { kind = "interrupted", message = "td.race: another function finished first" }) end
  end
  if first.status == "failed" then error(first.err, 0) end
  return index, table.unpack(first.results, 1, first.results.n)
end

return M
