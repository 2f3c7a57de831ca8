--- The fault matrix: every call that changes state, every read and every
-- result stream, each under every fault of its class, against the fake TD
-- server. Rows are made from three tables below (WRITES, READS, STREAMS);
-- an operation joins the matrix by an entry there, and tests/test_fault_matrix.lua
-- fails when a declared state-changing operation (td.ops) has no entry.
--
--   writes  x {503, reset, reset on a kept-alive connection, invalid JSON,
--              timeout} after the server acted
--           -> exactly one effect (one 2xx execution of the handler; at least
--              one for calls declared idempotent) and the same return value
--              as without the fault
--   reads   x {5xx storm, 429 Retry-After, reset, truncation, stall, HTML 200,
--              wrong-shaped bodies} -> the same value as without the fault, or
--              a structured error (a table with a kind)
--   streams x {reset, truncation, ETag change, stall, corrupt body}
--           -> the exact rows/bytes, or a structured error and nothing at the
--              final path
local t = require "testlib"

local M = {}

local TIMEOUT = 1 -- the client's timeout in rows that stall

local function wf(c) return c.workflow end

local function fresh_schedule(c)
  c:create_schedule("fm_sched", { cron = "@daily", query = "SELECT 1", database = "web" })
end

local function fm_pool(c) return c.workflow:create_pool { name = "fm_pool", concurrency_limit = 2 } end
local function fm_rule(c)
  return c.workflow:create_pool_rule { pool_id = fm_pool(c).id, priority = 10,
    conditions = { { type = "project_name", values = { "etl" } } } }
end

local function job_id(j) return j and j.job_id end
local function same(v) return v end
local function attempt_key(a) return a and a.id and tostring(a.id) end

-- name = how the row is shown; key = the td.ops declaration key it covers
-- (or a hand-written method); method + path = the request that acts;
-- call(c, s) = the call (s = what setup returned); value(ret) = what must
-- equal the value of a clean run; idempotent = true: a repeat is harmless
-- (the same state, or deduplicated by an identity), so one or more
-- executions are fine; state(c) = a measure of the server's state that must
-- equal a clean run's (rows in a table, ...).
M.WRITES = {
  { key = "client:query", method = "POST", path = "^/v3/job/issue/",
    call = function(c) return c:query("SELECT 1", { db = "web" }) end, value = job_id },
  { key = "client:export", method = "POST", path = "^/v3/export/run/",
    call = function(c) return c:export("web", "pageviews", { bucket = "b", access_key_id = "a", secret_access_key = "s" }) end,
    value = job_id },
  { key = "job:result_export", method = "POST", path = "^/v3/job/result_export/",
    setup = function(c) return c:query("SELECT 1", { db = "web" }):wait { interval = 0.01 } end,
    call = function(_, job) return job:result_export { result = "my_postgres" } end, value = job_id },
  { key = "client:run_schedule", method = "POST", path = "^/v3/schedule/run/", setup = fresh_schedule,
    call = function(c) return c:run_schedule("fm_sched", 1764000000) end,
    value = function(r) return r and #r end },
  { key = "client:import", method = "PUT", path = "^/v3/table/import", idempotent = true,
    call = function(c) return c:import("web", "pageviews", { { time = 1, user_id = "u1" }, { time = 2, user_id = "u2" } }) end,
    value = function(r) return type(r) end,
    state = function(c) return c:table("web", "pageviews").count end },
  { key = "client:kill", method = "POST", path = "^/v3/job/kill/", idempotent = true,
    setup = function(c) return c:query("SELECT 1 -- fake_stuck", { db = "web" }) end,
    call = function(c, job) return c:kill(job.job_id) end, value = function() return true end },
  { key = "client:create_database", method = "POST", path = "^/v3/database/create/",
    call = function(c) return c:create_database("fm_db") end, value = same },
  { key = "client:delete_database", method = "POST", path = "^/v3/database/delete/",
    setup = function(c) c:create_database("fm_db") end,
    call = function(c) return c:delete_database("fm_db") end, value = same },
  { key = "client:create_table", method = "POST", path = "^/v3/table/create/",
    call = function(c) return c:create_table("web", "fm_tbl") end,
    value = function(r) return r and r.table end },
  { key = "client:delete_table", method = "POST", path = "^/v3/table/delete/",
    call = function(c) return c:delete_table("web", "pageviews") end,
    value = function(r) return r and r.table end },
  { key = "client:swap_table", method = "POST", path = "^/v3/table/swap/",
    call = function(c) return c:swap_table("sample_datasets", "www_access", "nasdaq") end,
    value = function(r) return type(r) end },
  { key = "client:rename_table", method = "POST", path = "^/v3/table/rename/",
    call = function(c) return c:rename_table("web", "pageviews", "pv_renamed") end,
    value = function(r) return r and r.table end },
  { key = "client:update_table", method = "POST", path = "^/v3/table/update/", idempotent = true,
    call = function(c) return c:update_table("web", "pageviews", { expire_days = 3 }) end,
    value = function(r) return type(r) end },
  { key = "client:append_schema", method = "POST", path = "^/v3/table/append.schema/",
    call = function(c) return c:append_schema("web", "pageviews", { { "fm_col", "string" } }) end,
    value = function(r) return type(r) end },
  { key = "client:create_schedule", method = "POST", path = "^/v3/schedule/create/",
    call = fresh_schedule, value = function() return true end },
  { key = "client:delete_schedule", method = "POST", path = "^/v3/schedule/delete/", setup = fresh_schedule,
    call = function(c) return c:delete_schedule("fm_sched") end, value = function(r) return type(r) end },
  { key = "client:create_result", method = "POST", path = "^/v3/result/create/",
    call = function(c) return c:create_result("fm_res", "mysql://db.example.com/x/y") end, value = same },
  { key = "client:delete_result", method = "POST", path = "^/v3/result/delete/",
    call = function(c) return c:delete_result("my_postgres") end, value = same },
  { key = "client:add_user", method = "POST", path = "^/v3/user/add/",
    call = function(c) return c:add_user("fm_user", { email = "fm@example.com" }) end, value = same },
  { key = "client:add_api_key", method = "POST", path = "^/v3/user/apikey/add/",
    call = function(c) return c:add_api_key("analyst") end, value = function(r) return type(r) end },
  { key = "client:create_policy", method = "POST", path = "^/v3/access_control/policies$",
    call = function(c) return c:create_policy { name = "fm_policy" } end,
    value = function(r) return r and r.name end },
  { key = "wf:start", method = "PUT", path = "^/api/attempts$",
    call = function(c) return wf(c):start("etl", "daily", { session_time = "2026-11-10" }) end,
    value = attempt_key },
  { key = "attempt:retry", method = "PUT", path = "^/api/attempts$",
    setup = function(c) return wf(c):attempt(7) end,
    call = function(_, a) return a:retry { resume = "failed" } end, value = attempt_key },
  { key = "attempt:kill", method = "POST", path = "^/api/attempts/[0-9]+/kill$", idempotent = true,
    setup = function(c) return wf(c):attempt(12) end,
    call = function(_, a) return a:kill() end, value = function() return true end },
  { key = "schedule:backfill", method = "POST", path = "^/api/schedules/[0-9]+/backfill$",
    setup = function(c) return wf(c):schedule { project = "etl", workflow = "daily" } end,
    call = function(_, s) return s:backfill { from = "2026-11-10", count = 2, name = "fm-bf" } end,
    value = function(r) return r and #r end },
  { key = "schedule:skip", method = "POST", path = "^/api/schedules/[0-9]+/skip$", idempotent = true,
    setup = function(c) return wf(c):schedule { project = "etl", workflow = "daily" } end,
    call = function(_, s) return s:skip { next_time = "2026-11-30" } end,
    value = function(r) return type(r) end },
  { key = "schedule:disable", method = "POST", path = "^/api/schedules/[0-9]+/disable$", idempotent = true,
    setup = function(c) return wf(c):schedule { project = "etl", workflow = "daily" } end,
    call = function(_, s) return s:disable() end, value = function(r) return type(r) end },
  { key = "schedule:enable", method = "POST", path = "^/api/schedules/[0-9]+/enable$", idempotent = true,
    setup = function(c)
      local s = wf(c):schedule { project = "etl", workflow = "daily" }
      s:disable()
      return s
    end,
    call = function(_, s) return s:enable() end, value = function(r) return type(r) end },
  { key = "wf:set_secret", method = "PUT", path = "^/api/projects/[0-9]+/secrets/", idempotent = true,
    call = function(c) return wf(c):set_secret("etl", "fm.key", "v") end, value = function() return true end },
  { key = "wf:create_pool", method = "POST", path = "^/api/pools$",
    call = function(c) return wf(c):create_pool { name = "fm_pool", concurrency_limit = 2 } end,
    value = function(r) return r and r.name end },
  { key = "wf:update_pool", method = "PATCH", path = "^/api/pools/[0-9]+$", idempotent = true, setup = fm_pool,
    call = function(c, p) return wf(c):update_pool(p.id, { concurrency_limit = 3 }) end,
    value = function(r) return r and r.concurrency_limit end },
  { key = "wf:delete_pool", method = "DELETE", path = "^/api/pools/[0-9]+$", setup = fm_pool,
    call = function(c, p) return wf(c):delete_pool(p.id) end, value = function(r) return type(r) end },
  { key = "wf:create_pool_rule", method = "POST", path = "^/api/pool_rules$", setup = fm_pool,
    call = function(c, p)
      return wf(c):create_pool_rule { pool_id = p.id, priority = 10, conditions = { { type = "project_name", values = { "etl" } } } }
    end, value = function(r) return r and r.priority end },
  { key = "wf:update_pool_rule", method = "PATCH", path = "^/api/pool_rules/[0-9]+$", idempotent = true, setup = fm_rule,
    call = function(c, r) return wf(c):update_pool_rule(r.id, { priority = 20 }) end,
    value = function(r) return r and r.priority end },
  { key = "wf:delete_pool_rule", method = "DELETE", path = "^/api/pool_rules/[0-9]+$", setup = fm_rule,
    call = function(c, r) return wf(c):delete_pool_rule(r.id) end, value = function(r) return type(r) end },
  { key = "wf:delete_secret", method = "DELETE", path = "^/api/projects/[0-9]+/secrets/", idempotent = true,
    setup = function(c) wf(c):set_secret("etl", "fm.key", "v") end,
    call = function(c) return wf(c):delete_secret("etl", "fm.key") end, value = same },
  { key = "client:update_schedule", method = "POST", path = "^/v3/schedule/update/", idempotent = true,
    setup = fresh_schedule, call = function(c) return c:update_schedule("fm_sched", { cron = "@hourly" }) end,
    value = function(r) return r and r.cron end },
  { key = "client:change_database", method = "POST", path = "^/v3/table/change_database/",
    setup = function(c) c:create_database("fm_dest") end,
    call = function(c) return c:change_database("web", "pageviews", "fm_dest") end,
    value = function(r) return r and r.table end },
  { key = "client:remove_user", method = "POST", path = "^/v3/user/remove/",
    setup = function(c) c:add_user("fm_user", { email = "fm@example.com" }) end,
    call = function(c) return c:remove_user("fm_user") end, value = same },
  { key = "client:remove_api_key", method = "POST", path = "^/v3/user/apikey/remove/",
    setup = function(c) return c:add_api_key("analyst") end,
    call = function(c, k) return c:remove_api_key("analyst", k) end, value = same },
  { key = "client:update_policy", method = "PATCH", path = "^/v3/access_control/policies/[0-9]+$", idempotent = true,
    call = function(c) return c:update_policy(1, { description = "fm" }) end,
    value = function(r) return r and r.description end },
  { key = "client:delete_policy", method = "DELETE", path = "^/v3/access_control/policies/[0-9]+$",
    call = function(c) return c:delete_policy(2) end, value = function(r) return r and r.id end },
  { key = "client:attach_policy", method = "POST", path = "^/v3/access_control/users/[0-9]+/policies/", idempotent = true,
    call = function(c) return c:attach_policy(1, 2) end, value = function(r) return r and r.id end },
  { key = "client:detach_policy", method = "DELETE", path = "^/v3/access_control/users/[0-9]+/policies/",
    call = function(c) return c:detach_policy(2, 1) end, value = function(r) return r and r.id end },
  { key = "client:set_user_policies", method = "PATCH", path = "^/v3/access_control/users/[0-9]+/policies$", idempotent = true,
    call = function(c) return c:set_user_policies(1, { 1 }) end, value = function(r) return type(r) end },
  { key = "client:create_policy_group", method = "POST", path = "^/v3/access_control/policy_groups$",
    call = function(c) return c:create_policy_group { name = "fm_group" } end,
    value = function(r) return r and r.name end },
  { key = "client:delete_policy_group", method = "DELETE", path = "^/v3/access_control/policy_groups/",
    call = function(c) return c:delete_policy_group(1) end, value = same },
  { key = "client:update_schema", method = "POST", path = "^/v3/table/update.schema/", idempotent = true,
    call = function(c) return c:update_schema("web", "pageviews", { { "path", "string" }, { "fm_col", "long" } }) end,
    value = function(r) return r and r.table end },
  { key = "client:recover_table", method = "POST", path = "^/v3/table/recover/",
    setup = function(c)
      c:delete_table("web", "pageviews")
      for x in c:deleted_tables() do if x.name == "pageviews" then return x.id end end
    end,
    call = function(c, id) return c:recover_table(id) end, value = function(r) return r and r.name end },
  { key = "client:add_delegated_admin", method = "POST", path = "^/v3/user/delegated_admin/add/", idempotent = true,
    call = function(c) return c:add_delegated_admin("analyst@example.com") end, value = same },
  { key = "client:remove_delegated_admin", method = "POST", path = "^/v3/user/delegated_admin/remove/", idempotent = true,
    setup = function(c) c:add_delegated_admin("analyst@example.com") end,
    call = function(c) return c:remove_delegated_admin("analyst@example.com") end, value = same },
  { key = "client:set_policy_users", method = "PATCH", path = "^/v3/access_control/policies/[0-9]+/users$", idempotent = true,
    call = function(c) return c:set_policy_users(1, { 1, 2 }) end, value = function(r) return r and #r end },
  { key = "client:add_policy_user", method = "POST", path = "^/v3/access_control/policies/[0-9]+/users/", idempotent = true,
    call = function(c) return c:add_policy_user(2, 1) end, value = function(r) return r and r.id end },
  { key = "client:remove_policy_user", method = "DELETE", path = "^/v3/access_control/policies/[0-9]+/users/",
    call = function(c) return c:remove_policy_user(1, 2) end, value = function(r) return r and r.id end },
  { key = "client:update_policy_permissions", method = "PATCH", idempotent = true,
    path = "^/v3/access_control/policies/[0-9]+/permissions$",
    call = function(c) return c:update_policy_permissions(1, { Databases = { { operation = "query", ids = "1" } } }) end,
    value = function(r) return type(r) end },
  { key = "client:update_policy_column_permissions", method = "PATCH", idempotent = true,
    path = "^/v3/access_control/policies/[0-9]+/column_permissions$",
    call = function(c) return c:update_policy_column_permissions(1, { { tags = { "fm" }, masking = "hash" } }) end,
    value = function(r) return r and #r end },
  { key = "client:update_user_permissions", method = "PATCH", idempotent = true,
    path = "^/v3/access_control/users/[0-9]+/permissions$",
    call = function(c) return c:update_user_permissions(1, { WorkflowProject = { { operation = "view" } } }) end,
    value = function(r) return type(r) end },
  { key = "client:set_user_profile_option", method = "PUT", idempotent = true,
    path = "^/v3/access_control/users/[0-9]+/profile_options/",
    call = function(c) return c:set_user_profile_option(1, "audience_studio", "edit") end, value = same },
  { key = "client:delete_user_profile_option", method = "DELETE", idempotent = true,
    path = "^/v3/access_control/users/[0-9]+/profile_options/",
    setup = function(c) c:set_user_profile_option(1, "audience_studio", "edit") end,
    call = function(c) return c:delete_user_profile_option(1, "audience_studio") end, value = same },
  { key = "client:update_policy_group", method = "PATCH", path = "^/v3/access_control/policy_groups/[^/]+$", idempotent = true,
    call = function(c) return c:update_policy_group(1, { description = "fm" }) end,
    value = function(r) return r and r.description end },
  { key = "client:set_policy_group_policies", method = "PATCH", idempotent = true,
    path = "^/v3/access_control/policy_groups/[^/]+/policies$",
    call = function(c) return c:set_policy_group_policies(1, { 1, 2 }) end, value = function(r) return r and #r end },
  { key = "client:set_policy_group_tag_delegated_admins", method = "PATCH", idempotent = true,
    path = "^/v3/policy_group_tags/[^/]+/delegated_admins$",
    call = function(c) return c:set_policy_group_tag_delegated_admins("marketing", { 1 }) end,
    value = function(r) return type(r) end },
  { key = "client:set_policy_group_tag_users", method = "PATCH", idempotent = true,
    path = "^/v3/policy_group_tags/[^/]+/users$",
    call = function(c) return c:set_policy_group_tag_users("marketing", { 1, 2 }) end,
    value = function(r) return type(r) end },
}

-- The faults after the server acted.
M.WRITE_FAULTS = {
  { name = "503 after act", kind = "after_act_503" },
  { name = "reset after act", kind = "after_act_reset" },
  { name = "reset after act on a kept-alive connection", kind = "after_act_reset_reused", warm = true },
  { name = "invalid JSON after act", kind = "after_act_badjson" },
  { name = "timeout after act", kind = "after_act_stall", slow = true },
}

local function ids(list)
  local out = {}
  if type(list) == "function" then
    for x in list do out[#out + 1] = x.name or x.id or x.job_id end
    return out
  end
  for i, x in ipairs(list or {}) do out[i] = x.name or x.id or x.job_id end
  return out
end

M.READS = {
  { key = "client:databases", path = "^/v3/database/list$",
    call = function(c) return ids(c:databases()) end },
  { key = "client:tables", path = "^/v3/table/list/",
    call = function(c) return ids(c:tables("sample_datasets")) end },
  { key = "client:table", path = "^/v3/table/show/",
    call = function(c) local x = c:table("web", "pageviews"); return { x.name, x.count } end },
  { key = "client:account", path = "^/v3/account/show$",
    call = function(c) return c:account().id end },
  { key = "client:job", path = "^/v3/job/show/",
    call = function(c) local j = c:job("1001"); return { j.job_id, j.status } end },
  { key = "client:job_status", path = "^/v3/job/status/",
    call = function(c) return c:job_status("1001").status end },
  { key = "client:jobs", path = "^/v3/job/list$",
    call = function(c) local n = 0; for _ in c:jobs { limit = 30 } do n = n + 1 end; return n end },
  { key = "client:schedules", path = "^/v3/schedule/list$",
    call = function(c) return ids(c:schedules()) end },
  { key = "client:results", path = "^/v3/result/list$",
    call = function(c) return ids(c:results()) end },
  { key = "client:users", path = "^/v3/user/list$",
    call = function(c) return ids(c:users()) end },
  { key = "wf:projects", path = "^/api/projects$",
    call = function(c) return ids(wf(c):projects()) end },
  { key = "wf:attempt", path = "^/api/attempts/[0-9]+$",
    call = function(c) local a = wf(c):attempt(7); return { tostring(a.id), a.status } end },
  { key = "wf:sessions", path = "^/api/sessions$",
    call = function(c) return #ids(wf(c):sessions()) end },
  { key = "wf:schedules", path = "^/api/schedules$",
    call = function(c) return #ids(wf(c):schedules()) end },
}

M.READ_FAULTS = {
  { name = "5xx storm", kind = "storm_5xx" },
  { name = "429 with Retry-After", kind = "retry_after_429" },
  { name = "reset", kind = "reset" },
  { name = "truncation", kind = "truncate" },
  { name = "stall", kind = "stall", slow = true },
  { name = "stall mid-body", kind = "stall_mid_body", slow = true },
  { name = "HTML page with 200", kind = "html_200" },
  { name = "null body", kind = "shape_null" },
  { name = "number body", kind = "shape_number" },
  { name = "string body", kind = "shape_string" },
  { name = "array body", kind = "shape_array" },
  { name = "empty object", kind = "shape_object" },
  { name = "missing fields", kind = "shape_missing" },
  { name = "wrong field types", kind = "shape_wrongtype" },
}

-- result streams and downloads of a 3000-row result
local ROWS_QUERY = "SELECT * FROM t -- fake_rows(3000)"

local function checksum(s)
  local h = 0
  for i = 1, #s, 7 do h = (h * 31 + s:byte(i)) % 4294967291 end
  return ("%d:%d"):format(#s, h)
end

local function row_digest(job)
  local n, parts = 0, {}
  for row in job:rows() do
    n = n + 1
    parts[#parts + 1] = tostring(row[1]) .. "|" .. tostring(row[2]) .. "|" .. tostring(row[5])
  end
  return ("%d rows %s"):format(n, checksum(table.concat(parts, "\n")))
end

M.STREAMS = {
  { name = "job:rows", call = function(job) return row_digest(job) end },
  { name = "job:download csv", file = "fm.csv",
    call = function(job, path) job:download(path, { format = "csv", header = true }); return checksum(t.slurp(path)) end },
  { name = "job:download msgpack.gz", file = "fm.msgpack.gz",
    call = function(job, path) job:download(path, { format = "msgpack.gz" }); return checksum(t.slurp(path)) end },
}

local RESULT = "^/v3/job/result/"
M.STREAM_FAULTS = {
  { name = "reset", rules = { { path = RESULT, action = "reset" } } },
  { name = "truncation", rules = { { path = RESULT, action = "truncate" } } },
  { name = "truncation, then another ETag", rules = {
    { path = RESULT, action = "truncate" },
    { path = RESULT, action = "pass", headers = { ETag = '"another-etag"' } } } },
  { name = "stall mid-body", slow = true, rules = { { path = RESULT, action = "stall", bytes = 2000, seconds = 30 } } },
  { name = "corrupt body", rules = { { path = RESULT, action = "pass", corrupt = "middle" } } },
  { name = "corrupt body every time", rules = { { path = RESULT, action = "pass", corrupt = "middle", times = -1 } } },
}

-- ---------------------------------------------------------------------------
-- running rows

local function client()
  return t.client { timeout = TIMEOUT + 1, read_timeout = TIMEOUT, retry_max_time = 8 }
end

local function stall_client()
  return t.client { timeout = TIMEOUT, read_timeout = TIMEOUT, retry_max_time = 8 }
end

-- executions of the acting handler that succeeded (2xx)
local function effects(method, pat)
  local n = 0
  for _, r in ipairs(t.requests(method, pat)) do
    local st = r.acted_status or (r.fault == nil and r.status) or (r.acted and r.status)
    if st and st >= 200 and st < 300 then n = n + 1 end
  end
  return n
end

local function structured(e) return type(e) == "table" and type(e.kind) == "string" end

local clean_cache = {}

local function clean_value(op, cache_key, fn)
  if clean_cache[cache_key] == nil then
    t.reset()
    local ok, v = pcall(fn)
    if not ok then error(("the row's fixture fails without a fault: %s"):format(tostring(v)), 0) end
    clean_cache[cache_key] = { v }
  end
  return clean_cache[cache_key][1]
end

--- Run one write row; raises (fails the test) when the guarantee breaks.
function M.write_row(op, fault)
  local want = clean_value(op, "w:" .. op.key, function()
    local c = client()
    local s = op.setup and op.setup(c)
    local v = op.value(op.call(c, s))
    return { v, op.state and op.state(c) }
  end)
  local want_state
  want, want_state = want[1], want[2]
  t.reset()
  local c = fault.slow and stall_client() or client()
  local s = op.setup and op.setup(c)
  if fault.warm then c:server_status() end -- a kept-alive connection to reuse
  t.inject(fault.kind, op.method, op.path)
  local ok, ret = pcall(op.call, c, s)
  local n = effects(op.method, op.path)
  local fired = 0
  for _, f in ipairs(t.faults()) do fired = fired + f.hits end
  t.clear_faults()
  if fired == 0 and fault.warm then return "not reached: the call used a new connection" end
  if fired == 0 then error("the fault did not fire (the row's path does not match the request)", 0) end
  if op.idempotent then
    if n < 1 then error(("no effect in the server's state (%d executions)"):format(n), 0) end
  elseif n ~= 1 then
    error(("%d effects in the server's state, want exactly 1"):format(n), 0)
  end
  if not ok then
    error(("the call failed although the server acted: %s"):format(tostring(ret)), 0)
  end
  local got = op.value(ret)
  if not t.deep_eq(got, want) then
    error(("returned %s, want %s (as without the fault)"):format(t.show(got), t.show(want)), 0)
  end
  if op.state then
    local st = op.state(client())
    if not t.deep_eq(st, want_state) then
      error(("the server's state is %s, want %s (as without the fault)"):format(t.show(st), t.show(want_state)), 0)
    end
  end
end

--- Run one read row.
function M.read_row(op, fault)
  local want = clean_value(op, "r:" .. op.key, function() return op.call(client()) end)
  t.reset()
  local c = fault.slow and stall_client() or client()
  local extra = fault.kind == "retry_after_429"
    and { times = 1, headers = { ["Retry-After"] = M.RETRY_AFTER or "1" } } or nil
  t.inject(fault.kind, "GET", op.path, extra)
  local ok, got = pcall(op.call, c)
  t.clear_faults()
  if ok then
    if not t.deep_eq(got, want) then
      error(("returned %s, want %s: a wrong answer taken for a right one"):format(t.show(got), t.show(want)), 0)
    end
  elseif not structured(got) then
    error(("failed with an unstructured error: %s"):format(tostring(got)), 0)
  end
end

--- Run one stream row.
function M.stream_row(op, fault)
  local dir = (t.fake().dir or "/tmp") .. "/fm"
  os.execute("mkdir -p " .. t.sh_quote(dir))
  local path = op.file and (dir .. "/" .. op.file)
  local function run(c)
    local job = c:query(ROWS_QUERY, { db = "web" }):wait { interval = 0.01 }
    if path then os.remove(path) end
    return op.call(job, path)
  end
  local want = clean_value(op, "s:" .. op.name, function() return run(client()) end)
  t.reset()
  local c = fault.slow and stall_client() or client()
  local job = c:query(ROWS_QUERY, { db = "web" }):wait { interval = 0.01 }
  if path then os.remove(path) end
  for _, r in ipairs(fault.rules) do
    local rule = { times = 1 }
    for k, v in pairs(r) do rule[k] = v end
    t.fault(rule)
  end
  local ok, got = pcall(op.call, job, path)
  t.clear_faults()
  if ok then
    if got ~= want then error(("got %s, want %s"):format(tostring(got), tostring(want)), 0) end
  else
    if not structured(got) then error(("failed with an unstructured error: %s"):format(tostring(got)), 0) end
    if path and t.exists(path) then error("failed, yet a file is at the final path", 0) end
  end
end

--- Every row: { id = "write: client:query x 503 after act", run = fn }.
function M.rows()
  local out = {}
  for _, op in ipairs(M.WRITES) do
    for _, f in ipairs(M.WRITE_FAULTS) do
      out[#out + 1] = { id = ("write %s x %s"):format(op.key, f.name), slow = f.slow,
                        run = function() return M.write_row(op, f) end }
    end
  end
  for _, op in ipairs(M.READS) do
    for _, f in ipairs(M.READ_FAULTS) do
      out[#out + 1] = { id = ("read %s x %s"):format(op.key, f.name), slow = f.slow,
                        run = function() return M.read_row(op, f) end }
    end
  end
  for _, op in ipairs(M.STREAMS) do
    for _, f in ipairs(M.STREAM_FAULTS) do
      out[#out + 1] = { id = ("stream %s x %s"):format(op.name, f.name), slow = f.slow,
                        run = function() return M.stream_row(op, f) end }
    end
  end
  return out
end

return M
