--- td.v3.schedules: scheduled queries (TD's "schedules", saved queries with
-- a cron): list, create, update, delete, run now or for a past time, and
-- the run history. Runs and history entries are Job objects.
local errors = require "td.errors"
local http = require "td.http"
local paging = require "td.paging"
local jobmod = require "td.v3.job"
local shape = require "td.v3.shape"
local tdtime = require "td.time"
local args = require "td.v3.args"

local M = {}
local name_arg, usage = args.name, args.usage

local function schedule_shape(t)
  return shape.object(t, { "id", "executing_user_id" })
end

-- option -> { form field, type }; aliases map our words to TD's
local FIELDS = {
  cron = { "cron", "string" }, query = { "query", "string" },
  database = { "database", "string" }, db = { "database", "string" },
  type = { "type", "string" }, engine = { "type", "string" },
  timezone = { "timezone", "string" }, delay = { "delay", "integer" },
  priority = { "priority", "integer" }, retry_limit = { "retry_limit", "integer" },
  result = { "result", "string" }, result_url = { "result", "string" },
  engine_version = { "engine_version", "string" }, pool_name = { "pool_name", "string" },
  executing_user_id = { "executing_user_id", "id" },
}

-- Check the options of create/update and build the form.
local function schedule_form(fname, opts, extra)
  local known, spec = {}, {}
  for k, f in pairs(FIELDS) do known[k] = true; spec[k] = f[2] end
  for k, ty in pairs(extra or {}) do known[k] = true; spec[k] = ty end
  opts = args.opts(fname, opts, known)
  args.fields(fname, opts, spec)
  if opts.priority ~= nil and (opts.priority < -2 or opts.priority > 2) then
    usage(fname .. ": priority must be between -2 and 2")
  end
  if opts.retry_limit ~= nil and (opts.retry_limit < 0 or opts.retry_limit > 32) then
    usage(fname .. ": retry_limit must be between 0 and 32")
  end
  if opts.delay ~= nil and opts.delay < 0 then usage(fname .. ": delay must not be negative") end
  local form = {}
  for k, f in pairs(FIELDS) do
    local v = opts[k]
    if v ~= nil then
      if form[f[1]] ~= nil and form[f[1]] ~= v then
        usage(("%s: opts.%s conflicts with another option for %s"):format(fname, k, f[1]))
      end
      form[f[1]] = v
    end
  end
  for k in pairs(extra or {}) do form[k] = opts[k] end
  return form, opts
end

--- client:schedules() -> array of schedules ({name, cron, timezone, delay,
-- query, database, type, priority, retry_limit, result, next_time, ...}).
function M:schedules()
  local d = http.request(self, { path = "/v3/schedule/list" })
  local out = {}
  for i, s in ipairs(d.schedules or {}) do out[i] = schedule_shape(s) end
  return out
end

--- client:schedule(name) -> one schedule (from the list; raises not_found).
function M:schedule(name)
  name_arg("schedule", "name", name)
  for _, s in ipairs(self:schedules()) do
    if s.name == name then return s end
  end
  errors.raise { kind = "not_found", status = 404, message = ("Schedule '%s' does not exist"):format(name) }
end

--- client:create_schedule(name, {cron =, query =, database =, type = "presto",
-- timezone = "UTC", delay =, priority =, retry_limit =, result =,
-- engine_version =, pool_name =, executing_user_id =}) -> the schedule, with
-- `start` = its first run time. cron "" makes a schedule that runs only when
-- asked (run_schedule). `db`, `engine` and `result_url` are accepted as
-- aliases of database, type and result.
function M:create_schedule(name, opts)
  name_arg("create_schedule", "name", name)
  if type(opts) ~= "table" then
    usage(("bad argument 'opts' to 'create_schedule' (table expected, got %s)"):format(opts == nil and "no value" or type(opts)))
  end
  local form = schedule_form("create_schedule", opts)
  if form.cron == nil then usage("create_schedule: opts.cron is required (\"\" for a schedule that only runs when asked)") end
  if form.query == nil or form.query:match("^%s*$") then usage("create_schedule: opts.query is required") end
  if form.database == nil or form.database == "" then usage("create_schedule: opts.database is required") end
  form.type = form.type or "presto"
  local d = http.request(self, { method = "POST", path = http.path("/v3/schedule/create/%s", name), form = form })
  return schedule_shape(d)
end

--- client:update_schedule(name, {cron =, query =, database =, type =,
-- timezone =, delay =, priority =, retry_limit =, result =, engine_version =,
-- pool_name =, executing_user_id =, name = new_name}) -> the schedule.
function M:update_schedule(name, opts)
  name_arg("update_schedule", "name", name)
  local form, o = schedule_form("update_schedule", opts, { name = "string" })
  if next(o) == nil then usage("update_schedule: nothing to update (opts is empty)") end
  local d = http.request(self, { method = "POST", path = http.path("/v3/schedule/update/%s", name), form = form })
  return schedule_shape(d)
end

--- client:delete_schedule(name) -> the deleted schedule.
function M:delete_schedule(name)
  name_arg("delete_schedule", "name", name)
  local d = http.request(self, { method = "POST", path = http.path("/v3/schedule/delete/%s", name), form = {} })
  return schedule_shape(d)
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
  local t = time
  if type(time) == "string" then
    t = tdtime.parse(time)
    if not t then usage(("run_schedule: cannot read the time %q (epoch seconds or \"2026-11-22 10:00:00 UTC\")"):format(time)) end
  elseif type(time) ~= "number" then
    usage(("bad argument 'time' to 'run_schedule' (number or string expected, got %s)"):format(time == nil and "no value" or type(time)))
  end
  t = math.floor(t)
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
  opts = args.opts("schedule_history", opts, { from = true, to = true, limit = true, page = true })
  args.fields("schedule_history", opts, { from = "integer", to = "integer", limit = "integer", page = "integer" })
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
