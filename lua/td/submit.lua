--- td.submit: the one submission path for calls that create something in
-- TD. Each call chooses its identity before the first try — a job's
-- domain_key, an attempt or retry name, an import id, a revision — and a
-- lost reply (a reset, a timeout, a 5xx or an unreadable answer after the
-- server may have acted; libcurl's own re-sends are ruled out by the
-- kernel, see td.http) is resolved by asking TD for that identity, never
-- by guessing. The retry loop itself is td.http's.
--
--   submit.job(client, request, key, fields) -> Job     (query, export, ...)
--   submit.jobs(client, request, key, recover) -> value (run_schedule)
--   submit.key(explicit, purpose) -> the identity to use
--
-- Inside a journaled td.step (td.journal), identities come from the journal,
-- so a killed and re-run runbook re-attaches to what it had started.
local errors = require "td.errors"
local http = require "td.http"

local M = {}

--- n random bytes as hex (the one reader of /dev/urandom).
function M.random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(n)
  if f then f:close() end
  if not bytes or #bytes < n then
    local t = {}
    for i = 1, n do t[i] = string.char(math.random(0, 255)) end
    bytes = table.concat(t)
  end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

--- A random UUID (version 4), for attempt and retry names.
function M.uuid()
  local h = M.random_hex(16)
  local v = tonumber(h:sub(17, 17), 16) % 4 + 1
  local variant = ("89ab"):sub(v, v)
  return ("%s-%s-4%s-%s%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(14, 16), variant, h:sub(18, 20), h:sub(21, 32))
end

-- a fresh identity of each kind
local FRESH = {
  domain_key = function() return "tdlua-" .. M.random_hex(12) end,
  retry = function() return "retry-" .. M.uuid() end,
  attempt = function() return M.uuid() end,
  import = function() return M.random_hex(16) end,
}

--- The identity of a submission: the caller's own when given; else the
-- journal's (deterministic inside a journaled step, so a re-run finds what
-- the killed run created); else a fresh random one. `purpose` names the
-- kind ("domain_key", "attempt", "retry", "import", ...).
function M.key(explicit, purpose)
  if explicit ~= nil then return explicit end
  local journal = package.loaded["td.journal"]
  if type(journal) == "table" and type(journal.identity) == "function" then
    local id = journal.identity(purpose or "domain_key")
    if id then return id end
  end
  local fresh = FRESH[purpose or "domain_key"] or FRESH.domain_key
  return fresh()
end

--- After PUT /api/attempts answered 409 with attempt `a` (the existing
-- one): was it made by an earlier try of this very call? Only when a try
-- may have reached the server (resp.maybe_sent). With a name (a retry, or
-- a start given retry_name), by the name: that is the identity. Without one
-- (the first attempt of a session), when TD created it after this call's
-- first try went out, by TD's own clock: its Date header, less the time
-- since that try; with no clock to tell, it is taken as ours, so nothing is
-- ever started twice.
function M.attempt_is_ours(a, resp, name)
  if not resp or not resp.maybe_sent or type(a) ~= "table" then return false end
  if name ~= nil then return a.retryAttemptName == name end
  local now_srv = http.server_time(resp)
  local created = type(a.createdAt) == "string" and require("td.time").parse(a.createdAt) or nil
  if not now_srv or not created then return true end
  local since = require("td.core").now() - (resp.started or 0)
  return created >= now_srv - since - 1
end

local function jobmod() return require "td.v3.job" end

-- the job TD holds for a domain_key, or nil when there is none
local function by_domain_key(client, key)
  local ok, st = pcall(http.request, client, { path = http.path("/v3/job/status_by_domain_key/%s", key) })
  if ok then
    if type(st) ~= "table" or (st.job_id == nil and st.job == nil) then
      errors.raise { kind = "bad_response", message = "job/status_by_domain_key answered without a job_id",
        domain_key = key }
    end
    return st
  end
  if errors.is(st, "not_found") then return nil end
  error(st, 0)
end
M.by_domain_key = by_domain_key

local function job_id_of(d)
  if type(d) ~= "table" then return nil end
  local id = d.job_id or d.job
  if math.type(id) == "integer" or (type(id) == "string" and id:match("^%d+$")) then return tostring(id) end
  return nil
end

--- Submit a request that creates one job, idempotently through domain_key
-- `key` (already in the request's form). fields: extra Job fields
-- (database, type, query). Returns the Job: the new one, or the one an
-- earlier try created (409 "already exists", or found by its domain_key
-- after a lost reply). A dry run returns a placeholder Job.
function M.job(client, r, key, fields)
  fields = fields or {}
  local function wrap(t)
    for k, v in pairs(fields) do if t[k] == nil then t[k] = v end end
    t.domain_key = key
    return jobmod().wrap(client, t)
  end
  r.idempotent = true -- the domain_key dedups
  r.identity = { domain_key = key }
  r.expect = function(d)
    if job_id_of(d) then return nil end
    return "no job_id in the answer"
  end
  r.resolve = function()
    local st = by_domain_key(client, key)
    return st and wrap(st) or nil
  end
  local ok, d, resp = pcall(http.request, client, r)
  if not ok then
    if errors.is(d, "conflict") then
      -- the domain_key is taken: by an earlier try of this call (or an
      -- earlier run with the same key), so that job is this call's job
      local id = d.conflicts_with
      if id then return wrap { job_id = tostring(id) } end
      local st = by_domain_key(client, key)
      if st then return wrap(st) end
    end
    error(d, 0)
  end
  if resp.dry_run then return require("td.dryrun").job(client, fields) end
  if resp.resolved then return d end
  local t = { job_id = job_id_of(d), status = "queued" }
  if type(d.database) == "string" then t.database = d.database end
  return wrap(t)
end

return M
