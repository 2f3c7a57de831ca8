--- td.v3.schedules: scheduled queries (TD's "schedules", saved queries with
-- a cron): list, create, update, delete, run now or for a past time, and
-- the run history. Runs and history entries are Job objects. The thin
-- operations are declared as data (td/ops.lua); run_schedule and the
-- history iterator are written by hand.
local errors = require "td.errors"
local http = require "td.http"
local paging = require "td.paging"
local jobmod = require "td.v3.job"
local shape = require "td.v3.shape"
local tdtime = require "td.time"
local args = require "td.v3.args"
local ops = require "td.ops"

local M = {}
local name_arg, usage = args.name, args.usage

local function schedule_shape(t)
  return shape.object(t, { "id", "executing_user_id" })
end

-- aliases: our words for TD's form fields
local ALIAS = { db = "database", engine = "type", result_url = "result" }

-- the options of create/update: TD's form fields and their aliases
local function schedule_opts(extra)
  local o = {
    { "cron", "string", 'a cron spec; "" for a schedule that only runs when asked' },
    { "query", "string", "the SQL" },
    { "database", "string", "the database the query runs in" }, { "db", "string", "alias of database", to = false },
    { "type", "string", 'the engine: "presto" (default on create), "hive", ...' },
    { "engine", "string", "alias of type", to = false },
    { "timezone", "string", 'the cron\'s time zone (TD\'s default: "UTC")' },
    { "delay", "integer", "seconds to wait after the scheduled time" },
    { "priority", "integer", "-2 (very low) .. 2 (very high)" },
    { "retry_limit", "integer", "0 .. 32 automatic retries" },
    { "result", "string", "a result URL or saved result the output goes to" },
    { "result_url", "string", "alias of result", to = false },
    { "engine_version", "string", "the engine version" },
    { "pool_name", "string", "the resource pool" },
    { "executing_user_id", "id", "the user the runs run as" },
  }
  for _, e in ipairs(extra or {}) do o[#o + 1] = e end
  return o
end

-- range checks and aliases folded into TD's fields (a clash is a usage error)
local function schedule_form(call)
  local fname, opts = call.decl.name, call.opts
  if opts.priority ~= nil and (opts.priority < -2 or opts.priority > 2) then
    usage(fname .. ": priority must be between -2 and 2")
  end
  if opts.retry_limit ~= nil and (opts.retry_limit < 0 or opts.retry_limit > 32) then
    usage(fname .. ": retry_limit must be between 0 and 32")
  end
  if opts.delay ~= nil and opts.delay < 0 then usage(fname .. ": delay must not be negative") end
  for alias, field in pairs(ALIAS) do
    local v = opts[alias]
    if v ~= nil then
      if opts[field] ~= nil and opts[field] ~= v then
        usage(("%s: opts.%s conflicts with another option for %s"):format(fname, alias, field))
      end
      opts[field] = v
    end
  end
end

ops.define(M, "v3.schedules", {
  { name = "schedules", path = "/v3/schedule/list",
    answer = { schedules = { "table" } }, unwrap = "schedules", each = schedule_shape,
    returns = "array of schedules ({name, cron, timezone, delay, query, database, type, priority, retry_limit, result, next_time, ...})",
    doc = "The account's scheduled queries.", example = "for _, s in ipairs(c:schedules()) do print(s.name, s.cron) end" },

  { name = "schedule", hand = true, args = { { "name", "name", "the schedule's name" } },
    returns = "one schedule", errors = "not_found",
    doc = "One schedule (looked up in the list).", example = 'c:schedule("daily_kpi").cron' },

  { name = "create_schedule", describe = "create schedule {name}", method = "POST", path = "/v3/schedule/create/{name}",
    args = { { "name", "name", "the new schedule's name" } }, opts_required = true, opts = schedule_opts(),
    before = function(call)
      schedule_form(call)
      local o = call.opts
      if o.cron == nil then usage("create_schedule: opts.cron is required (\"\" for a schedule that only runs when asked)") end
      if o.query == nil or o.query:match("^%s*$") then usage("create_schedule: opts.query is required") end
      if o.database == nil or o.database == "" then usage("create_schedule: opts.database is required") end
      o.type = o.type or "presto"
    end,
    answer = "table", unwrap = schedule_shape, returns = "the schedule, with `start` = its first run time",
    doc = "Create a scheduled query; db, engine and result_url are aliases of database, type and result.",
    example = 'c:create_schedule("daily_kpi", { cron = "0 1 * * *", query = "SELECT 1", db = "web" })' },

  { name = "update_schedule", describe = "update schedule {name}", method = "POST", path = "/v3/schedule/update/{name}",
    args = { { "name", "name", "the schedule's name" } }, needs_opts = true,
    opts = schedule_opts { { "name", "string", "a new name for the schedule" } },
    before = schedule_form, answer = "table", unwrap = schedule_shape, returns = "the schedule",
    doc = "Change a scheduled query.", example = 'c:update_schedule("daily_kpi", { cron = "0 2 * * *" })' },

  { name = "delete_schedule", describe = "delete schedule {name}", method = "POST", path = "/v3/schedule/delete/{name}",
    args = { { "name", "name", "the schedule's name" } },
    answer = "table", unwrap = schedule_shape, returns = "the deleted schedule",
    doc = "Delete a scheduled query.", example = 'c:delete_schedule("daily_kpi")' },

  { name = "run_schedule", hand = true, method = "POST", path = "/v3/schedule/run/{name}/{time}",
    args = { { "name", "name", "the schedule's name" }, { "time", "any", "epoch seconds or a time string" } },
    opts = { { "num", "integer", "how many runs (1..10, default 1)" },
             { "domain_key", "string", "the submission's identity (generated unless given)" } },
    returns = "array of Jobs, one per run",
    doc = "Run a schedule for a time (and the following cron times); retry-safe through a domain_key.",
    example = 'local jobs = c:run_schedule("daily_kpi", "2026-11-21", { num = 2 })' },

  { name = "schedule_history", hand = true, path = "/v3/schedule/history/{name}",
    args = { { "name", "name", "the schedule's name" } },
    opts = { { "from", "integer", "start index (default 0)" }, { "to", "integer", "end index (exclusive)" },
             { "limit", "integer", "stop after this many" }, { "page", "integer", "items per request (default 100)" } },
    returns = "iterator over the past runs as Jobs (newest first, each with scheduled_at)",
    doc = "A schedule's past runs.", example = 'for job in c:schedule_history("daily_kpi", { limit = 5 }) do print(job.job_id) end' },
})

--- client:schedule(name) -> one schedule (from the list; raises not_found).
function M:schedule(name)
  name_arg("schedule", "name", name)
  for _, s in ipairs(self:schedules()) do
    if s.name == name then return s end
  end
  errors.raise { kind = "not_found", status = 404, message = ("Schedule '%s' does not exist"):format(name) }
end

-- The jobs an earlier attempt of run_schedule created: the first is known
-- (409 details or the domain key); the others are the next ones of the
-- schedule's history.
local function recover_runs(self, name, key, first_id, num, conflict)
  if not first_id then
    local ok, st = pcall(http.request, self, { path = http.path("/v3/job/status_by_domain_key/%s", key) })
    if not ok then error(conflict, 0) end
    first_id = st.job_id and tostring(st.job_id)
    if not first_id then error(conflict, 0) end
  end
  local first = tonumber(first_id)
  local found = {}
  if num > 1 and first then
    for job in self:schedule_history(name, { limit = 100 }) do
      local n = tonumber(job.job_id)
      if n and n >= first then found[#found + 1] = job end
      if n and n < first then break end
    end
    table.sort(found, function(a, b) return tonumber(a.job_id) < tonumber(b.job_id) end)
  end
  local out = {}
  for i = 1, math.min(num, #found) do
    found[i].domain_key = key
    out[i] = found[i]
  end
  if #out == 0 then out[1] = jobmod.wrap(self, { job_id = first_id, domain_key = key }) end
  return out
end

--- client:run_schedule(name, time, {num = 1, domain_key =}) -> array of Jobs,
-- one per run: the first is scheduled at `time` (epoch seconds, or any
-- string td.time.parse reads), the others at the following cron times.
-- Like query(), it sends a domain_key (generated unless given), so a retry
-- after a lost answer finds the jobs of the first attempt instead of
-- starting the runs twice.
--   local jobs = c:run_schedule("daily_kpi", "2026-11-21", { num = 2 })
function M:run_schedule(name, time, opts)
  name_arg("run_schedule", "name", name)
  local t = tdtime.epoch_arg("run_schedule", "time", time)
  opts = args.opts("run_schedule", opts, { num = true, domain_key = true })
  args.fields("run_schedule", opts, { num = "integer", domain_key = "string" })
  local num = opts.num or 1
  if num < 1 or num > 10 then usage("run_schedule: num must be between 1 and 10") end
  local submit = require "td.submit"
  local key = submit.key(opts.domain_key, "domain_key")
  local ok, d, resp = pcall(http.request, self, {
    method = "POST", path = http.path("/v3/schedule/run/%s/%s", name, ("%d"):format(t)),
    form = { num = num, domain_key = key },
    idempotent = true, -- safe by construction: the domain_key dedups
    identity = { domain_key = key },
    expect = function(a)
      if type(a.jobs) ~= "table" then return "no jobs list in the answer" end
      for _, j in ipairs(a.jobs) do
        if type(j) ~= "table" or (j.job_id == nil and j.id == nil) then return "a run without a job_id" end
      end
      return nil
    end,
    resolve = function() -- an earlier try may have started the runs
      local st = submit.by_domain_key(self, key)
      if not st then return nil end
      return recover_runs(self, name, key, tostring(st.job_id or st.job), num)
    end,
    describe = function()
      return ("run schedule %s for %s%s"):format(name, tdtime.format(t),
        num > 1 and (" and the %d scheduled times after it"):format(num - 1) or "")
    end,
  })
  if not ok then
    if errors.is(d, "conflict") then return recover_runs(self, name, key, d.conflicts_with, num, d) end
    error(d, 0)
  end
  if resp.dry_run then return {} end
  if resp.resolved then return d end
  local out = {}
  for i, j in ipairs(d.jobs) do
    j.domain_key = key
    j.status = j.status or "queued"
    out[i] = jobmod.wrap(self, j)
  end
  return out
end

--- client:schedule_history(name, {from = 0, to =, limit =, page = 100}) ->
-- iterator over the schedule's past runs as Jobs (newest first, each with
-- scheduled_at). `to` is exclusive, as in TD's schedule/history.
function M:schedule_history(name, opts)
  name_arg("schedule_history", "name", name)
  opts = ops.check_opts(ops.lookup("client:schedule_history"), opts) -- the declaration above
  local from = opts.from or 0
  local limit = opts.limit
  if opts.to then limit = math.max(0, math.min(limit or math.huge, opts.to - from)) end
  return paging.by_index(function(a, b)
    local d = http.request(self, {
      path = http.path("/v3/schedule/history/%s", name),
      query = { from = a, to = b + 1 },
    })
    local out = {}
    for i, j in ipairs(d.history or {}) do out[i] = jobmod.wrap(self, j) end
    return out
  end, { offset = from, limit = limit, page = opts.page, key = function(j) return j.job_id end })
end

return M
