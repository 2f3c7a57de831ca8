--- td.v3.jobs: submitting, listing, inspecting and killing jobs.
local errors = require "td.errors"
local http = require "td.http"
local paging = require "td.paging"
local jobmod = require "td.v3.job"
local dryrun = require "td.dryrun"
local redact = require "td.redact"
local submit = require "td.submit"

local M = {}
local check = errors.check

local ENGINES = { presto = true, trino = true, hive = true }
local QUERY_OPTS = {
  db = true, database = true, engine = true, type = true, priority = true, retry_limit = true,
  pool_name = true, engine_version = true, result_url = true, result = true, domain_key = true,
}
local STATUSES = { queued = true, running = true, success = true, error = true }

--- A fresh idempotency key for job submission (td.submit.key).
local function new_domain_key() return submit.key(nil, "domain_key") end
M._new_domain_key = new_domain_key

--- client:query(sql, {db =, engine = "presto"|"trino"|"hive", priority =,
-- retry_limit =, pool_name =, engine_version =, result_url =, domain_key =})
-- -> Job. Submission is idempotent: a domain_key (generated when none is
-- given, reported as job.domain_key) lets a retried submission find the
-- job the first attempt created instead of creating a second one.
function M:query(sql, opts)
  check("query", "sql", sql, "string")
  if sql:match("^%s*$") then errors.raise { kind = "usage", message = "query: sql is empty" } end
  check("query", "opts", opts, "table")
  errors.opts("query", opts, QUERY_OPTS)
  local db = opts.db or opts.database
  if type(db) ~= "string" or db == "" then
    errors.raise { kind = "usage", message = "query: opts.db (the database to run in) is required" }
  end
  local engine = opts.engine or opts.type or "presto"
  if not ENGINES[engine] then
    errors.raise { kind = "usage", message = ("query: unknown engine %q (presto, trino or hive)"):format(tostring(engine)) }
  end
  if opts.priority ~= nil then
    check("query", "priority", opts.priority, "integer")
    if opts.priority < -2 or opts.priority > 2 then
      errors.raise { kind = "usage", message = "query: priority must be between -2 and 2" }
    end
  end
  if opts.retry_limit ~= nil then check("query", "retry_limit", opts.retry_limit, "integer") end
  local key = submit.key(opts.domain_key, "domain_key")
  return submit.job(self, {
    method = "POST",
    path = http.path("/v3/job/issue/%s/%s", engine, db),
    form = {
      query = sql, priority = opts.priority, retry_limit = opts.retry_limit,
      pool_name = opts.pool_name, engine_version = opts.engine_version,
      result = opts.result_url or opts.result, domain_key = key,
    },
    describe = function()
      return ("submit a %s query on database %s%s:%s"):format(engine, db,
        (opts.result_url or opts.result) and " (its result sent to a saved result)" or "", dryrun.block(sql))
    end,
  }, key, { database = db, type = engine, query = sql })
end

local EXPORT_OPTS = {
  bucket = "string", access_key_id = "string", secret_access_key = "string",
  file_prefix = "string", file_format = "string", from = true, to = true,
  pool_name = "string", encryption = "string", assume_role = "string",
  domain_key = "string", storage_type = "string",
}
local EXPORT_FORMATS = { ["json.gz"] = true, ["line-json.gz"] = true, ["tsv.gz"] = true, ["jsonl.gz"] = true }

local function export_time(name, v)
  if v == nil then return nil end
  return require("td.time").epoch_arg("export", "opts." .. name, v)
end

--- client:export(db, table, {bucket =, access_key_id =, secret_access_key =,
-- file_prefix =, file_format = "json.gz"|"line-json.gz"|"tsv.gz"|"jsonl.gz",
-- from =, to =, pool_name =, encryption =, assume_role =, domain_key =})
-- -> Job: exports the table's rows (time from..to, epoch seconds or time
-- strings) to S3 (POST /v3/export/run/:db/:table). The secret key is
-- masked in traces and errors. Submission is idempotent like query().
function M:export(db, tbl, opts)
  check("export", "db", db, "string")
  check("export", "table", tbl, "string")
  check("export", "opts", opts, "table")
  for k, want in pairs(opts) do
    local ty = EXPORT_OPTS[k]
    if not ty then error(errors.unknown_option("export", k, EXPORT_OPTS), 0) end
    if ty ~= true then check("export", "opts." .. k, want, ty) end
  end
  if opts.secret_access_key then redact.add(opts.secret_access_key) end
  if not opts.bucket or opts.bucket == "" then
    errors.raise { kind = "usage", message = "export: opts.bucket (the S3 bucket) is required" }
  end
  if opts.file_format and not EXPORT_FORMATS[opts.file_format] then
    errors.raise { kind = "usage", message = ("export: file_format must be json.gz, line-json.gz, tsv.gz or jsonl.gz (got %q)"):format(opts.file_format) }
  end
  local key = submit.key(opts.domain_key, "domain_key")
  return submit.job(self, {
    method = "POST", path = http.path("/v3/export/run/%s/%s", db, tbl),
    form = {
      storage_type = opts.storage_type or "s3", bucket = opts.bucket,
      access_key_id = opts.access_key_id, secret_access_key = opts.secret_access_key,
      file_prefix = opts.file_prefix, file_format = opts.file_format or "json.gz",
      from = export_time("from", opts.from), to = export_time("to", opts.to),
      pool_name = opts.pool_name, encryption = opts.encryption, assume_role = opts.assume_role,
      domain_key = key,
    },
    describe = function()
      return ("export table %s.%s to s3://%s/%s as %s"):format(db, tbl, opts.bucket, opts.file_prefix or "",
        opts.file_format or "json.gz")
    end,
  }, key, { database = db, type = "export" })
end

--- client:job(id) -> Job with every field (/v3/job/show)
function M:job(id)
  check("job", "id", id, "string", "number")
  local d = http.request(self, { path = http.path("/v3/job/show/%s", id) })
  return jobmod.wrap(self, d)
end

--- client:job_status(id) -> { job_id, status, start_at, end_at, duration, num_records, ... }
function M:job_status(id)
  check("job_status", "id", id, "string", "number")
  local d = http.request(self, { path = http.path("/v3/job/status/%s", id) })
  return require("td.v3.shape").job(d)
end

--- client:job_status_by_domain_key(key) -> the status of the job submitted
-- with that domain_key ({ job_id, status, ... }; raises not_found).
function M:job_status_by_domain_key(key)
  check("job_status_by_domain_key", "key", key, "string")
  local d = http.request(self, { path = http.path("/v3/job/status_by_domain_key/%s", key) })
  return require("td.v3.shape").job(d)
end

--- client:kill(id) -> the status the job had before
function M:kill(id)
  check("kill", "id", id, "string", "number")
  return jobmod.wrap(self, { job_id = tostring(id) }):kill()
end

--- client:jobs{status =, from =, to =, limit =, slower_than =} - iterate over
-- jobs, newest first, fetching pages of 100 as needed.
--   for job in c:jobs{ status = "error", limit = 50 } do ... end
function M:jobs(opts)
  opts = errors.opts("jobs", opts, { status = true, from = true, to = true, limit = true, slower_than = true })
  if opts.status ~= nil and not STATUSES[opts.status] then
    errors.raise { kind = "usage", message = ("jobs: status must be queued, running, success or error (got %q)"):format(tostring(opts.status)) }
  end
  local from = opts.from or 0
  local limit = opts.limit
  if opts.to then limit = math.min(limit or math.huge, opts.to - from + 1) end
  return paging.by_index(function(a, b)
    local d = http.request(self, {
      path = "/v3/job/list",
      query = { from = a, to = b, status = opts.status, slower_than = opts.slower_than },
    })
    local out = {}
    for i, j in ipairs(d.jobs or {}) do out[i] = jobmod.wrap(self, j) end
    return out
  end, { offset = from, limit = limit, key = function(j) return j.job_id end })
end

return M
