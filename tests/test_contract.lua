-- the fake server holds every request to TD's API descriptions (tests/spec);
-- tests/run.lua fails a test that leaves a violation behind
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local http = require "td.http"

local function violations(fn)
  t.contract_violations()
  pcall(fn)
  local out = {}
  for _, v in ipairs(t.contract_violations()) do
    for _, m in ipairs(v.violations) do out[#out + 1] = m end
  end
  return out
end

local function send(c, r)
  return function() return http.request(c, r) end
end

test("the fake server checks requests against the descriptions", function()
  t.reset()
  local c = t.client()
  ok(http.request(c, { path = "/__fake/contract", auth = false }).checking, "contract checking is on")
  eq(violations(function() c:databases() end), {}, "a described call passes")
end)

test("an unknown query parameter, a wrong type, a value out of range", function()
  t.reset()
  local c = t.client()
  local v = violations(send(c, { path = "/v3/database/list", query = { colour = "blue" } }))
  like(v[1], "GET /v3/database/list: unknown query parameter 'colour'")
  v = violations(send(c, { method = "POST", path = "/v3/job/issue/presto/web",
                           form = { query = "SELECT 1", priority = "high" } }))
  like(v[1], "priority: 'high' is not an integer")
  v = violations(send(c, { method = "POST", path = "/v3/job/issue/presto/web",
                           form = { query = "SELECT 1", retry_limit = 99 } }))
  like(v[1], "retry_limit: 99 is above the maximum 32")
  v = violations(send(c, { method = "POST", path = "/v3/table/create/web/item_tbl/item" }))
  like(v[1], "path table_type: 'item' is not one of %['log'%]")
end)

test("a missing required field, an unknown field, a body of the wrong kind", function()
  t.reset()
  local c = t.client()
  local v = violations(send(c, { method = "PUT", base = "workflow", path = "/api/attempts",
                                 json = { workflowId = "1", params = {} } }))
  like(v[1], "required field 'sessionTime' missing")
  v = violations(send(c, { method = "PUT", base = "workflow", path = "/api/attempts",
                           json = { workflowId = "1", params = {}, sessionTime = "2026-11-22T00:00:00Z", colour = 1 } }))
  like(v[1], "unknown field 'colour'")
  v = violations(send(c, { method = "POST", path = "/v3/schedule/create/s1",
                           json = { cron = "@daily", query = "SELECT 1", database = "web", type = "presto" } }))
  like(v[1], "body sent as application/json, TD's description has application/x%-www%-form%-urlencoded")
end)

test("an endpoint the descriptions do not have", function()
  t.reset()
  local c = t.client()
  local v = violations(send(c, { path = "/v3/database/colours" }))
  like(v[1], "GET /v3/database/colours: endpoint not in TD's API description")
end)

test("documented deviations pass: job/issue as a form, job/result?format, omitted endpoints", function()
  t.reset()
  local c = t.client()
  eq(violations(function()
    local job = c:query("SELECT 1", { db = "web", priority = 1, retry_limit = 2 }):wait()
    job:fetch(1)
    c:account()
    c:server_status()
  end), {})
end)

test("off_contract takes a deliberate violation, and insists on one", function()
  t.reset()
  local c = t.client()
  t.off_contract(http.request, c, { path = "/v3/database/list", query = { colour = "blue" } })
  eq(t.contract_violations(), {}, "taken")
  ok(not pcall(t.off_contract, function() c:databases() end), "no violation: off_contract fails")
end)
