--- td.workflow.schedule: the Schedule object (a workflow's `schedule:`).
-- Fields are the API's (id, project, workflow, nextRunTime,
-- nextScheduleTime, disabledAt, and after a change createdAt, updatedAt)
-- and their snake_case names, plus project_name, workflow_name, enabled,
-- next_run_epoch and next_schedule_epoch. Set up by the object model
-- (td/object.lua): wrap, refresh, summary. enable and disable are declared
-- as data (td/ops.lua). Methods: refresh, enable,
-- disable, skip, backfill.
local errors = require "td.errors"
local base = require "td.workflow.base"
local ops = require "td.ops"
local attempt = require "td.workflow.attempt"

local M = {}

local Schedule = base.class {
  name = "td.workflow.schedule", kind = "schedule",
  fill = function(s)
    s.project_name = type(s.project) == "table" and s.project.name or nil
    s.workflow_name = type(s.workflow) == "table" and s.workflow.name or nil
    s.enabled = s.disabledAt == nil
  end,
  fetch = function(c, s) return (base.request(c, { path = base.path("/api/schedules/%s", s.id) })) end,
  summary = function(s)
    return ("%s %s/%s next %s%s"):format(s.id, s.project_name or "?", s.workflow_name or "?",
      s.nextScheduleTime or "?", s.enabled and "" or ", disabled")
  end,
}
M.Schedule = Schedule

--- Wrap a RestSchedule JSON object for a client.
M.wrap = Schedule.wrap

local function check(self, name) return Schedule.check(self, name) end
local replace = Schedule.replace

--- GET /api/schedules/{id} -> Schedule
function M.get(client, id)
  return M.wrap(client, (base.request(client, { path = base.path("/api/schedules/%s", id) })))
end

--- The schedule of workflow `name` in project `pid` (not_found when it has none).
function M.find(client, pid, pname, name)
  local d = base.request(client, {
    path = base.path("/api/projects/%s/schedules", pid), query = { workflow = name },
  })
  local t = d.schedules and d.schedules[1]
  if not t then
    errors.raise { kind = "not_found", message = ("workflow %s of project %s has no schedule (or does not exist)"):format(name, pname or pid) }
  end
  return M.wrap(client, t)
end

--- A time for a field that digdag reads "ISO with an offset, or local in
-- the workflow's time zone": epoch numbers become instants, local strings
-- are normalised to "yyyy-MM-ddTHH:mm:ss".
local function zoned_or_local(fname, argname, v)
  if type(v) == "number" then return base.instant(fname, argname, v) end
  if type(v) == "string" then
    if base.has_zone(v) then return base.instant(fname, argname, v) end
    local l = base.local_time(v)
    if l then return l end
  end
  errors.raise {
    kind = "usage",
    message = ("bad argument '%s' to '%s' (epoch seconds, \"2026-11-22T00:00:00Z\" or a local time \"2026-11-22 00:00:00\" expected, got %s)")
      :format(argname, fname, type(v) == "string" and ("%q"):format(v) or type(v)),
  }
end

local function refill(d, call) return replace(call.self, d) end

ops.define(Schedule, "workflow.schedule", {
  { name = "enable", method = "POST", path = "/api/schedules/{self.id}/enable", idempotent = true,
    opts = { { "skip_schedule", "boolean", "skip the sessions missed while disabled (default true here)" },
             { "next_time", "any", "with skip_schedule: restart at this time (default now)" } },
    request = function(r, call)
      local o = call.opts
      local body = { skipSchedule = o.skip_schedule ~= false }
      if o.next_time ~= nil then body.nextTime = zoned_or_local("schedule:enable", "next_time", o.next_time) end
      r.form, r.json = nil, body
    end,
    describe = function(call)
      local s = call.self
      return ("enable schedule %s of %s/%s"):format(s.id, s.project_name or "?", s.workflow_name or "?")
    end,
    unwrap = refill, returns = "the schedule",
    doc = "Enable the schedule; skip_schedule = false runs every session missed while it was disabled.",
    example = "s:enable{ next_time = \"2026-12-01 00:00:00\" }" },

  { name = "disable", method = "POST", path = "/api/schedules/{self.id}/disable", idempotent = true,
    request = function(r) r.form, r.json = nil, {} end,
    describe = function(call)
      local s = call.self
      return ("disable schedule %s of %s/%s"):format(s.id, s.project_name or "?", s.workflow_name or "?")
    end,
    unwrap = refill, returns = "the schedule (disabledAt set)",
    doc = "Stop starting new sessions.", example = "s:disable()" },
}, { prefix = "schedule", base = "workflow", fname = true, dry_run = "self",
     receiver = function(self, decl) return check(self, decl.name) end })

--- schedule:skip{next_time =} or schedule:skip{count = N} - move the
-- schedule forward: to the first session at or after next_time, or past
-- the next N sessions from now (or from `from`). next_run_time sets when
-- that session runs; dry_run = true only shows the result. Returns the
-- updated schedule (a copy with dry_run). Raises conflict when the time is
-- not after the current next session.
function Schedule:skip(opts)
  local c = check(self, "skip")
  opts = base.opts("schedule:skip", opts, { next_time = true, count = true, from = true, next_run_time = true, dry_run = true })
  local body = { dryRun = opts.dry_run and true or false } -- the workflow API requires it
  if opts.next_time ~= nil and opts.count ~= nil then
    errors.raise { kind = "usage", message = "schedule:skip: give next_time or count, not both" }
  elseif opts.next_time ~= nil then
    body.nextTime = zoned_or_local("schedule:skip", "next_time", opts.next_time)
  elseif opts.count ~= nil then
    if math.type(opts.count) ~= "integer" or opts.count < 1 then
      errors.raise { kind = "usage", message = "bad argument 'count' to 'schedule:skip' (a positive integer expected)" }
    end
    local from = opts.from and base.epoch(base.instant("schedule:skip", "from", opts.from))
    if not from then
      from = math.max(os.time(), self.next_schedule_epoch or 0)
    end
    body.fromTime, body.count = base.iso(from), opts.count
  else
    errors.raise { kind = "usage", message = "schedule:skip: next_time or count is required" }
  end
  if opts.next_run_time ~= nil then
    body.nextRunTime = base.instant("schedule:skip", "next_run_time", opts.next_run_time)
  end
  local ok, d, resp = pcall(base.request, c, {
    method = "POST", path = base.path("/api/schedules/%s/skip", self.id), json = body,
    idempotent = true, -- a repeat lands on the same time (or a 409 naming it)
    dry_run_send = body.dryRun or nil, -- the server's own dry run changes nothing
    describe = function()
      return ("skip schedule %s of %s/%s %s"):format(self.id, self.project_name or "?", self.workflow_name or "?",
        body.nextTime and ("to " .. body.nextTime) or ("past %d sessions from %s"):format(body.count, body.fromTime))
    end,
  })
  if not ok then
    if errors.is(d, "conflict") and d.maybe_sent then
      -- an earlier try may have moved the schedule: then its next session
      -- is no longer the one we saw, and the skip is done
      local seen = self.nextScheduleTime
      local rok = pcall(self.refresh, self)
      if rok and self.nextScheduleTime ~= seen then return self end
    end
    if errors.is(d, "conflict") then
      base.reraise(d, {
        message = ("cannot skip schedule %s to %s: %s"):format(self.id, body.nextTime or ("%d sessions from %s"):format(body.count, body.fromTime), d.message),
        hint = ("the schedule's next session is already %s; skip to a later time"):format(self.nextScheduleTime or "?"),
      })
    end
    error(d, 0)
  end
  if resp.dry_run then return self end
  if opts.dry_run then return M.wrap(c, d) end
  return replace(self, d)
end

--- The instant `from` means for this schedule: epoch numbers and zoned
-- strings as they are; a local date/time through the server's
-- truncated_session_time, which reads it in the workflow's time zone.
local function backfill_from(c, self, v)
  if type(v) == "string" and not base.has_zone(v) then
    local l = base.local_time(v)
    if l then
      local d = base.request(c, {
        path = base.path("/api/workflows/%s/truncated_session_time", self.workflow.id),
        query = { session_time = l },
      })
      return base.iso(base.epoch(d.sessionTime))
    end
  end
  return base.instant("schedule:backfill", "from", v)
end

--- schedule:backfill{from =, count =, name =, dry_run =, skip_existing =,
-- advance_schedule =} -> array of the new Attempts.
-- Starts the sessions the schedule would have run from `from` (epoch
-- seconds, a zoned time, or a local date/time in the workflow's time zone)
-- up to, not including, its next scheduled session - at most `count`. They
-- run one after another. `name` is the attempts' retry name (a fresh one
-- by default). skip_existing leaves out sessions that already ran;
-- dry_run returns what would start (ids "0"). Raises bad_request when count
-- goes beyond the next scheduled session and conflict when a session
-- already has an attempt of that name, each with a hint.
function Schedule:backfill(opts)
  local c = check(self, "backfill")
  opts = base.opts("schedule:backfill", opts, {
    from = true, count = true, name = true, dry_run = true, skip_existing = true, advance_schedule = true,
  })
  if opts.from == nil and not opts.advance_schedule then
    errors.raise { kind = "usage", message = "bad argument 'from' to 'schedule:backfill' (the first session time is required)" }
  end
  if opts.count ~= nil and (math.type(opts.count) ~= "integer" or opts.count < 1) then
    errors.raise { kind = "usage", message = "bad argument 'count' to 'schedule:backfill' (a positive integer expected)" }
  end
  if opts.name ~= nil then errors.check("schedule:backfill", "name", opts.name, "string") end
  if opts.advance_schedule and opts.name then
    errors.raise { kind = "usage", message = "schedule:backfill: name cannot be given with advance_schedule" }
  end
  if not (self.workflow and self.workflow.id) then self:refresh() end
  local body = {
    fromTime = opts.from ~= nil and backfill_from(c, self, opts.from) or nil,
    count = opts.count,
    dryRun = opts.dry_run and true or false,
    skipExisting = (opts.skip_existing or opts.advance_schedule) and true or nil,
    advanceSchedule = opts.advance_schedule and true or nil,
  }
  -- the identity, chosen before the first try: the attempts' name (or,
  -- advancing the schedule, skipExisting makes a repeat start nothing new)
  if not opts.advance_schedule then body.attemptName = opts.name or ("backfill-" .. base.uuid()) end
  local ok, d, resp = pcall(base.request, c, {
    method = "POST", path = base.path("/api/schedules/%s/backfill", self.id), json = body,
    idempotent = true, -- a repeat is a 409 naming our attempts, or skips what the first try started
    identity = body.attemptName and { attempt_name = body.attemptName } or nil,
    expect = function(x)
      if type(x.attempts) ~= "table" then return "no attempts list in the answer" end
      return nil
    end,
    dry_run_send = body.dryRun or nil, -- the server's own dry run changes nothing
    describe = function()
      return ("backfill %s/%s: start %s from %s%s"):format(self.project_name or "?", self.workflow_name or "?",
        body.count and ("up to %d sessions"):format(body.count) or "the missed sessions", body.fromTime or "the last run",
        body.attemptName and (" (attempt name " .. body.attemptName .. ")") or "")
    end,
  })
  if not ok then
    local e = d
    if errors.is(e, "bad_request") and (e.message or ""):find("count is set", 1, true) then
      base.reraise(e, {
        message = ("backfill of %s/%s: %s"):format(self.project_name or "?", self.workflow_name or "?", e.message),
        hint = ("a backfill covers the session times from %s up to the next scheduled one (%s); lower count or start earlier")
          :format(body.fromTime or "?", self.nextScheduleTime or "?"),
      })
    elseif errors.is(e, "conflict") and e.maybe_sent and body.attemptName then
      -- an earlier try started them: the attempts of that name are ours
      local mine = {}
      for a in c.workflow:attempts { project = self.project_name, workflow = self.workflow_name, include_retried = true } do
        if a.retryAttemptName == body.attemptName then mine[#mine + 1] = a end
      end
      if #mine > 0 then
        table.sort(mine, function(x, y) return tonumber(x.id) < tonumber(y.id) end)
        return mine
      end
      error(e, 0)
    elseif errors.is(e, "conflict") then
      base.reraise(e, {
        message = ("backfill of %s/%s: %s"):format(self.project_name or "?", self.workflow_name or "?", e.message),
        hint = ("a session in that range already has an attempt named %q; use another name, or skip_existing = true to leave such sessions out")
          :format(body.attemptName or ""),
      })
    end
    error(e, 0)
  end
  if resp.dry_run then return {} end
  local out = {}
  for i, t in ipairs(d.attempts or {}) do out[i] = attempt.wrap(c, t) end
  return out
end

return M
