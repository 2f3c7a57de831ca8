--- td.journal: resumable runbooks. td.step(name, fn) runs a named step
-- once; with a journal (`tdlua --journal run.json script.lua`, or
-- td.journal(path) in the script) each finished step's results are
-- recorded, and a re-run after a crash, a `kill -9` or a failed step skips
-- the finished steps (returning their recorded results) and re-runs the
-- others. Work an unfinished step had already started in TD is re-attached,
-- not started again: inside a journaled step every submission gets an
-- identity (journal.identity) that is the same on the re-run - the job's
-- domain_key, the attempt's retry name - so TD answers with what the
-- killed run created.
--
-- The journal is JSON, written atomically (a .tmp file, fsync, rename) with
-- mode 0600, and holds no secret: recorded results and error messages go
-- through td.redact, and objects (jobs, attempts) are recorded as their
-- plain fields only.
local errors = require "td.errors"
local redact = require "td.redact"

local M = {}

local host = package.loaded["td.host"] or {}
local VERSION = 1

local state      -- the open journal: { path =, data = } or nil
local ran = {}   -- step names run in this process
local by_co = setmetatable({}, { __mode = "k" }) -- coroutine -> stack of step contexts
local active = {} -- contexts of running steps, in the order they started

local function now_iso() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(n)
  if f then f:close() end
  if not bytes or #bytes < n then
    bytes = ""
    for _ = 1, n do bytes = bytes .. string.char(math.random(0, 255)) end
  end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- FNV-1a, 32 bits: a short stable tag for a step name
local function fnv(s)
  local h = 2166136261
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = (h * 16777619) & 0xffffffff
  end
  return ("%08x"):format(h)
end

local function save()
  local cjson = require "cjson"
  local text = cjson.encode(state.data)
  if host.write_atomic then
    local ok, err = host.write_atomic(state.path, text .. "\n")
    if not ok then errors.raise { kind = "io", message = "journal: cannot write " .. tostring(err) } end
  else
    -- a plain lua5.4 (no fsync there): .tmp and rename
    local tmp = state.path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then errors.raise { kind = "io", message = "journal: cannot write " .. tostring(err) } end
    f:write(text, "\n")
    f:close()
    local ok, rerr = os.rename(tmp, state.path)
    if not ok then errors.raise { kind = "io", message = "journal: cannot write " .. tostring(rerr) } end
  end
end

--- journal.open(path) - use path as the journal (td.journal(path) and
-- --journal). An existing journal is read: its finished steps will be
-- skipped. A missing one is created (mode 0600). Raises `usage` when a
-- different journal is open already, `io`/`json` when it cannot be read.
function M.open(path)
  errors.check("td.journal", "path", path, "string")
  if state then
    if state.path == path then return M end
    errors.raise { kind = "usage", message = ("td.journal: %s is open already (one journal per run)"):format(state.path) }
  end
  local data
  local f = io.open(path, "rb")
  if f then
    local text = f:read("a")
    f:close()
    local ok, d = pcall(require("cjson").decode, text)
    if not ok or type(d) ~= "table" or d.tdlua_journal == nil or type(d.steps) ~= "table" then
      errors.raise { kind = "json", message = ("td.journal: %s is not a tdlua journal"):format(path),
        hint = "remove it to start afresh" }
    end
    if d.tdlua_journal ~= VERSION then
      errors.raise { kind = "json", message = ("td.journal: %s has version %s (this tdlua writes %d)"):format(path, tostring(d.tdlua_journal), VERSION) }
    end
    data = d
  else
    data = { tdlua_journal = VERSION, run_id = random_hex(8), created_at = now_iso(), steps = {} }
  end
  state = { path = path, data = data }
  save()
  return M
end

--- journal.path() -> the open journal's path, or nil.
function M.path() return state and state.path end

--- journal.run_id() -> the open journal's run id (stable across re-runs), or nil.
function M.run_id() return state and state.data.run_id end

local function current()
  local stack = by_co[coroutine.running()]
  if stack and #stack > 0 then return stack[#stack] end
  return active[#active] -- a task started inside a step belongs to it
end

--- journal.identity(purpose) -> a stable string, or nil outside a
-- journaled td.step. Deterministic from the journal's run id, the current
-- step's name, the step's generation (it changes after a recorded failure
-- of the work itself, so a failed job is not re-attached but submitted
-- anew) and a per-step call counter: the n-th submission of a step gets
-- the same identity on every re-run. The submission path uses it as the
-- domain_key / attempt or retry name. `purpose` ("query", "start", ...)
-- is for the caller's records; it does not change the counter.
function M.identity(purpose)
  local _ = purpose
  if not state then return nil end
  local ctx = current()
  if not ctx then return nil end
  ctx.calls = ctx.calls + 1
  return ("tdlua-%s-%s-%d-%d"):format(state.data.run_id, ctx.tag, ctx.generation, ctx.calls)
end

-- kinds meaning the work itself failed in TD: a re-run submits it anew
local FRESH_AFTER = { job_failed = true, job_killed = true, attempt_failed = true, attempt_killed = true }

-- a value as it may be recorded: plain data, strings redacted, objects as
-- their plain fields
local function plain(v, name, depth, seen)
  local t = type(v)
  if t == "string" then return redact.text(v) end
  if t == "number" or t == "boolean" or t == "nil" then return v end
  if v == require("td.core").null then return v end
  if t ~= "table" then
    errors.raise { kind = "usage", message = ("td.step %q returned a %s; a step's results must be plain data (strings, numbers, booleans, tables)"):format(name, t) }
  end
  if seen[v] or depth > 32 then
    errors.raise { kind = "usage", message = ("td.step %q returned a table that contains itself"):format(name) }
  end
  seen[v] = true
  local out = {}
  local object = getmetatable(v) ~= nil
  for k, x in pairs(v) do
    if type(k) == "string" or math.type(k) == "integer" then
      if object then
        local tx = type(x)
        if tx == "string" or tx == "number" or tx == "boolean" then out[k] = plain(x, name, depth + 1, seen) end
      else
        out[k] = plain(x, name, depth + 1, seen)
      end
    end
  end
  seen[v] = nil
  return out
end

local function log() return require("td.log") end

--- td.step(name, fn, ...) -> fn's results. Runs fn(...) as the step
-- `name` (unique within the run). With a journal: a step recorded as done
-- is skipped and returns its recorded results; otherwise it runs, and
-- its results are recorded when it returns (they must be plain data:
-- objects are recorded as their plain fields, strings redacted). A step
-- that raises is recorded as failed and the error propagates. Submissions
-- inside the step (queries, ...) carry journal identities, so the re-run of
-- an unfinished step re-attaches to what it had started. Without a
-- journal the step just runs. Each step logs a line when it starts, ends
-- or is skipped.
function M.step(name, fn, ...)
  errors.check("td.step", "name", name, "string")
  errors.check("td.step", "fn", fn, "function")
  if name == "" then errors.raise { kind = "usage", message = "bad argument 'name' to 'td.step' (a non-empty name expected)" } end
  if ran[name] then
    errors.raise { kind = "usage", message = ("td.step: a step named %q ran already in this run (step names must be unique)"):format(name) }
  end
  ran[name] = true
  local rec = state and state.data.steps[name]
  if rec and rec.status == "done" then
    log().info("step %s: done in an earlier run, skipped", name)
    local r, null = rec.results or {}, require("cjson").null
    local n = rec.n or #r
    for i = 1, n do if r[i] == null then r[i] = nil end end
    return table.unpack(r, 1, n)
  end
  local ctx = {
    name = name, calls = 0, generation = rec and rec.generation or 0,
    tag = name:gsub("[^%w_]", "_"):sub(1, 32) .. "-" .. fnv(name),
  }
  if rec and rec.status == "failed" and rec.fresh then ctx.generation = ctx.generation + 1 end
  local resumed = rec and rec.status == "running"
  if state then
    state.data.steps[name] = {
      status = "running", generation = ctx.generation, started_at = now_iso(),
      runs = ((rec and rec.runs) or 0) + 1,
    }
    save()
  end
  log().info("step %s: %s", name, resumed and "resuming (re-attaching to what it started)" or "started")
  local co = coroutine.running()
  local stack = by_co[co] or {}
  by_co[co] = stack
  stack[#stack + 1] = ctx
  active[#active + 1] = ctx
  local started = require("td.core").now()
  local res = table.pack(pcall(fn, ...))
  table.remove(stack)
  for i = #active, 1, -1 do if active[i] == ctx then table.remove(active, i) break end end
  local took = require("td.progress").clock(require("td.core").now() - started)
  if not res[1] then
    local err = res[2]
    if state then
      local r = state.data.steps[name]
      r.status, r.finished_at = "failed", now_iso()
      r.error = redact.text(tostring(err))
      r.fresh = errors.is(err) and FRESH_AFTER[err.kind] or false
      save()
    end
    log().error("step %s: failed after %s: %s", name, took, tostring(err))
    error(err, 0)
  end
  if state then
    local results = {}
    for i = 2, res.n do results[i - 1] = plain(res[i], name, 0, {}) end
    local r = state.data.steps[name]
    r.status, r.finished_at, r.results, r.n = "done", now_iso(), results, res.n - 1
    save()
  end
  log().info("step %s: done in %s", name, took)
  return table.unpack(res, 2, res.n)
end

return M
