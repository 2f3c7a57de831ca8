--- td.v3.bulk_import: session-based bulk import.
-- The life cycle of a session: create_bulk_import(name, db, table) ->
-- upload_bulk_import_part(...) for each part -> freeze_bulk_import ->
-- perform_bulk_import (a job: :wait() for it) -> check the counts and
-- bulk_import_error_records -> commit_bulk_import{wait = true} (the
-- records are appended to the table) -> delete_bulk_import.
-- Sessions are TD's own objects: {name, database, table, status
-- (uploading, performing, ready, committing, committed), job_id,
-- upload_frozen, valid_records, error_records, valid_parts, error_parts}.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local http = require "td.http"
local jobmod = require "td.v3.job"
local args = require "td.v3.args"

local M = {}

local name_arg, usage = args.name, args.usage

local function part_arg(fname, part)
  name_arg(fname, "part", part)
  if part:find("/", 1, true) then
    usage(("%s: a part name cannot contain '/' (got %q)"):format(fname, part))
  end
  return part
end

--- client:bulk_imports() -> array of sessions
function M:bulk_imports()
  local d = http.request(self, { path = "/v3/bulk_import/list" })
  return d.bulk_imports or {}
end

--- client:bulk_import(name) -> the session (raises not_found)
function M:bulk_import(name)
  name_arg("bulk_import", "name", name)
  return (http.request(self, { path = http.path("/v3/bulk_import/show/%s", name) }))
end

--- client:create_bulk_import(name, db, table) -> {name, bulk_import}:
-- a new session that will import into db.table (which must exist).
function M:create_bulk_import(name, db, tbl)
  name_arg("create_bulk_import", "name", name)
  name_arg("create_bulk_import", "db", db)
  name_arg("create_bulk_import", "table", tbl)
  return (http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/create/%s/%s/%s", name, db, tbl), form = {},
    identity = { bulk_import = name },
    resolve = function() -- the session's name is its identity
      local ok, b = pcall(M.bulk_import, self, name)
      if ok and b.database == db and b.table == tbl then return { name = name, bulk_import = name } end
      return nil
    end,
  }))
end

--- client:delete_bulk_import(name) -> {name, bulk_import}
function M:delete_bulk_import(name)
  name_arg("delete_bulk_import", "name", name)
  return (http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/delete/%s", name), form = {},
  }))
end

--- client:bulk_import_parts(name) -> array of the uploaded part names
function M:bulk_import_parts(name)
  name_arg("bulk_import_parts", "name", name)
  local d = http.request(self, { path = http.path("/v3/bulk_import/list_parts/%s", name) })
  return d.parts or {}
end

-- Encode every record into one msgpack.gz body.
local function encode_part(fname, rows)
  local p <close> = core.packer { gzip = true, require_time = true }
  local add = p.add
  local function put(rec)
    local ok, err = pcall(add, p, rec)
    if not ok then usage(fname .. ": " .. tostring(err)) end
  end
  if type(rows) == "table" then
    for i = 1, #rows do put(rows[i]) end
  else
    for rec in rows do put(rec) end
  end
  local _, n = p:count()
  return p:finish() or core.gzip(""), n
end

--- client:upload_bulk_import_part(name, part, rows, {data =}) -> {name,
-- part, records, bytes}. rows: an array of records or an iterator function
-- (as for client:import; every record needs an integer `time`), encoded
-- into one msgpack.gz part. With rows = nil, opts.data is a msgpack.gz
-- string uploaded as it is. Uploading a part name again replaces that part,
-- so the PUT is retried safely.
function M:upload_bulk_import_part(name, part, rows, opts)
  local fname = "upload_bulk_import_part"
  name_arg(fname, "name", name)
  part_arg(fname, part)
  opts = args.opts(fname, opts, { data = true })
  local body, records
  if rows == nil and opts.data ~= nil then
    if type(opts.data) ~= "string" then
      usage(("bad argument 'opts.data' to '%s' (string expected, got %s)"):format(fname, type(opts.data)))
    end
    body = opts.data
  else
    local t = type(rows)
    if t ~= "table" and t ~= "function" then
      usage(("bad argument 'rows' to '%s' (array of records or iterator function expected, got %s)")
        :format(fname, rows == nil and "no value" or t))
    end
    body, records = encode_part(fname, rows)
  end
  http.request(self, {
    method = "PUT", path = http.path("/v3/bulk_import/upload_part/%s/%s", name, part),
    body = body, content_type = "application/octet-stream", idempotent = true,
  })
  return { name = name, part = part, records = records, bytes = #body }
end

--- client:delete_bulk_import_part(name, part) -> {name, bulk_import}
function M:delete_bulk_import_part(name, part)
  name_arg("delete_bulk_import_part", "name", name)
  part_arg("delete_bulk_import_part", part)
  return (http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/delete_part/%s/%s", name, part), form = {},
  }))
end

--- client:freeze_bulk_import(name) - refuse further uploads
function M:freeze_bulk_import(name)
  name_arg("freeze_bulk_import", "name", name)
  return (http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/freeze/%s", name), form = {}, idempotent = true,
  }))
end

--- client:unfreeze_bulk_import(name) - accept uploads again
function M:unfreeze_bulk_import(name)
  name_arg("unfreeze_bulk_import", "name", name)
  return (http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/unfreeze/%s", name), form = {}, idempotent = true,
  }))
end

--- client:perform_bulk_import(name, {pool_name =, priority =}) -> Job (type
-- bulk_import_perform): validates and converts the uploaded parts. Wait
-- for it with job:wait(); the session is then `ready`, with its counts.
function M:perform_bulk_import(name, opts)
  name_arg("perform_bulk_import", "name", name)
  opts = args.opts("perform_bulk_import", opts, { pool_name = true, priority = true })
  args.fields("perform_bulk_import", opts, { pool_name = "string", priority = "integer" })
  -- the perform job the session had before: a lost reply is resolved by
  -- the session showing another one (ours) instead of performing twice
  local seen = self.dry_run and nil or select(2, pcall(M.bulk_import, self, name))
  local before = type(seen) == "table" and seen.job_id or nil
  local d, resp = http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/perform/%s", name),
    form = args.pick(opts, { "pool_name", "priority" }),
    identity = { bulk_import = name },
    expect = function(x) return x.job_id == nil and "no job_id in the answer" or nil end,
    resolve = function()
      local b = M.bulk_import(self, name)
      if b.job_id ~= nil and b.job_id ~= before then return { job_id = b.job_id } end
      return nil
    end,
    describe = ("perform bulk import %s (its uploaded parts become a job)"):format(name),
  })
  if resp.dry_run then return require("td.dryrun").job(self, { type = "bulk_import_perform" }) end
  return jobmod.wrap(self, { job_id = tostring(d.job_id), status = "queued", type = "bulk_import_perform" })
end

local function wait_committed(client, name, opts)
  local timeout = opts.timeout
  local interval = opts.interval or 1
  local deadline = timeout and core.now() + timeout
  while true do
    local ok, s = pcall(M.bulk_import, client, name)
    if not ok then
      if not (errors.is(s) and s.retryable) then error(s, 0) end
    elseif s.status == "committed" then
      return s
    elseif s.status ~= "committing" then
      errors.raise {
        kind = "commit_failed", status = nil,
        message = ("bulk import %s: the commit did not complete (the session is %s)"):format(name, tostring(s.status)),
      }
    end
    local left = deadline and deadline - core.now()
    if left and left <= 0 then
      errors.raise {
        kind = "timeout", retryable = false,
        message = ("bulk import %s was not committed within %gs (it keeps committing on TD)"):format(name, timeout),
      }
    end
    async.sleep(left and math.min(interval, left) or interval)
    interval = math.min(interval * 1.5, opts.max_interval or 30)
  end
end

--- client:commit_bulk_import(name, {wait =, timeout =, interval =}) -> the
-- commit response, or with wait = true the session once it is `committed`
-- (polling bulk_import/show; raises timeout or commit_failed). The session
-- must be `ready` (performed).
function M:commit_bulk_import(name, opts)
  name_arg("commit_bulk_import", "name", name)
  opts = args.opts("commit_bulk_import", opts, { wait = true, timeout = true, interval = true, max_interval = true })
  args.fields("commit_bulk_import", opts, { wait = "boolean", timeout = "number", interval = "number", max_interval = "number" })
  local d, resp = http.request(self, {
    method = "POST", path = http.path("/v3/bulk_import/commit/%s", name), form = {},
    identity = { bulk_import = name },
    resolve = function() -- committed (or committing) is what the commit did
      local b = M.bulk_import(self, name)
      if b.status == "committing" or b.status == "committed" then return { name = name, bulk_import = name } end
      return nil
    end,
    describe = ("commit bulk import %s into its table"):format(name),
  })
  if not opts.wait or resp.dry_run then return d end
  return wait_committed(self, name, opts)
end

--- client:bulk_import_error_records(name) -> iterator over the records that
-- failed validation in the last perform (maps, as uploaded), streamed and
-- decoded in C.
--   for rec in c:bulk_import_error_records("s1") do print(rec.time) end
function M:bulk_import_error_records(name)
  name_arg("bulk_import_error_records", "name", name)
  local r = { path = http.path("/v3/bulk_import/error_records/%s", name), accept = "*/*" }
  local req, err
  local tries = 0
  while true do
    req, err = http.open_stream(self, r)
    if req then break end
    tries = tries + 1
    if not err.retryable or tries > self.max_retries then error(err, 0) end
    async.sleep(err.retry_after or http.backoff(self, tries))
  end
  local dec = core.decoder { gzip = true }
  dec:source(req)
  local function refill(d)
    if not req:done() then
      async.await(req)
      return
    end
    local ok, code, msg = req:result()
    if not ok then
      errors.raise { kind = "network", code = code, retryable = false,
        message = ("error records of bulk import %s: the download broke (%s)"):format(name, tostring(msg)) }
    end
    d:finish()
  end
  local closer = setmetatable({}, { __close = function() req:cancel() end })
  return dec:iter(refill), nil, nil, closer
end

return M
