-- the one object model (td.object): wrap, check, refresh, aliases, summary
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

test("object.class: wrap, is, check, refresh through fetch, aliases, summary, tostring", function()
  local object = require "td.object"
  local fetched = 0
  local Thing = object.class {
    name = "td.thing", kind = "thing",
    alias = function(o, k) if k == "big_name" then return rawget(o, "bigName") end end,
    fetch = function(c, o) fetched = fetched + 1 return { id = o.id, bigName = c.tag .. fetched } end,
    summary = function(o) return o.id .. " " .. (o.bigName or "?") end,
  }
  local client = { tag = "x" }
  local th = Thing.wrap(client, { id = "7", bigName = "a" })
  ok(Thing.is(th))
  eq(th.big_name, "a")
  eq(th:summary(), "7 a")
  eq(tostring(th), "td.thing(7 a)")
  eq(th:refresh(), th)
  eq(th.bigName, "x1")
  like(raises_kind("usage", Thing.refresh, {}).message, "bad self to 'thing:refresh' %(a thing expected")
  local stray = setmetatable({ id = "8" }, Thing)
  like(raises_kind("usage", stray.refresh, stray).message, "without a client")
  local fields = {}
  for k in pairs(th) do fields[#fields + 1] = k end
  table.sort(fields)
  eq(fields, { "bigName", "id" }, "the client is not a field")
end)

test("workflow objects and the Job print a one-line summary()", function()
  local c = t.client()
  local project = require "td.workflow.project"
  local session = require "td.workflow.session"
  local schedule = require "td.workflow.schedule"
  local definition = require "td.workflow.definition"
  local attempt = require "td.workflow.attempt"
  local job = require "td.v3.job"
  eq(project.wrap(c, { id = "1", name = "etl", revision = "r1" }):summary(), "1 etl rev r1")
  eq(session.wrap(c, { id = "2", project = { name = "etl" }, workflow = { name = "daily" }, sessionTime = "T" }):summary(),
    "2 etl/daily T pending")
  eq(schedule.wrap(c, { id = "3", project = { name = "etl" }, workflow = { name = "daily" }, nextScheduleTime = "N" }):summary(),
    "3 etl/daily next N")
  eq(definition.wrap(c, { id = "4", name = "daily", project = { name = "etl" }, revision = "r1" }):summary(), "4 etl/daily rev r1")
  eq(attempt.wrap(c, { id = "5", project = { name = "etl" }, workflow = { name = "daily" }, sessionTime = "T", done = true, success = true }):summary(),
    "5 etl/daily T success")
  eq(job.wrap(c, { job_id = 9, status = "success", type = "presto", num_records = 3 }):summary(), "9 success presto, 3 rows")
  eq(tostring(project.wrap(c, { id = "1", name = "etl", revision = "r1" })), "td.workflow.project(1 etl rev r1)")
  like(raises_kind("usage", session.Session.refresh, {}).message, "bad self to 'session:refresh' %(a session expected")
end)
