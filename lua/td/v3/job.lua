--- td.v3.job: the Job object returned by query(), job() and jobs().
-- Fields are TD's own (job_id, status, type, database, query, created_at,
-- start_at, end_at, duration, result_size, num_records, hive_result_schema,
-- url, debug, ...) plus `schema` (the decoded hive_result_schema) and
-- `domain_key`. Methods: wait, refresh, show, kill, rows, records, columns,
-- fetch, result_table, download, statistics, result_export.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local http = require "td.http"
local shape = require "td.v3.shape"
local result = require "td.v3.result"
local progress = require "td.progress"
local download = require "td.v3.download"

local M = {}

-- the object model (td/object.lua) gives summary(); wrap, check and
-- refresh below are this class's own
local Job = require("td.object").class {
  name = "td.v3.job", kind = "job",
  summary = function(j)
    return ("%s %s%s%s"):format(j.job_id, j.status or "?", j.type and (" " .. j.type) or "",
      j.num_records and (", " .. j.num_records .. " rows") or "")
  end,
}
M.Job = Job

local FINISHED = { success = true, error = true, killed = true }
local WAIT_OPTS = { timeout = true, interval = true, max_interval = true, progress = true }
M.FINISHED = FINISHED

local clients = setmetatable({}, { __mode = "k" })

--- Wrap a job JSON object (list element, show or status) for a client.
function M.wrap(client, t)
  local job = setmetatable(shape.job(t), Job)
  clients[job] = client
  if job.hive_result_schema then job.schema = job.hive_result_schema end
  return job
end

local function client_of(job)
  return clients[job] or errors.raise { kind = "usage", message = "not a job object (use job:method(), not job.method())" }
end

local function check(self, name)
  if getmetatable(self) ~= Job then
    errors.raise { kind = "usage", message = ("bad self to 'job:%s' (a job expected; call it with ':')"):format(name) }
  end
end

function Job.__tostring(j)
  return ("td.job(%s %s%s)"):format(j.job_id, j.status or "?",
    j.num_records and (", " .. j.num_records .. " rows") or "")
end

local function merge(job, t)
  for k, v in pairs(shape.job(t)) do job[k] = v end
  if job.hive_result_schema then job.schema = job.hive_result_schema end
end

--- job:refresh() - update status fields from /v3/job/status (cheap).
-- what job/status and job/show must answer: a job with its status
local JOB_STATUSES = { queued = true, booting = true, running = true, success = true, error = true, killed = true }
local function job_shape(d)
  if type(d.status) ~= "string" then return "no job status in the answer" end
  if not JOB_STATUSES[d.status] then return ("an unknown job status %q"):format(d.status) end
  return nil
end
M.job_shape = job_shape

function Job:refresh()
  check(self, "refresh")
  merge(self, (http.request(client_of(self), { path = http.path("/v3/job/status/%s", self.job_id), expect = job_shape })))
  return self
end

--- job:show() - update every field from /v3/job/show, including
-- debug.cmdout and debug.stderr.
function Job:show()
  check(self, "show")
  merge(self, (http.request(client_of(self), { path = http.path("/v3/job/show/%s", self.job_id), expect = job_shape })))
  return self
end

--- job:kill() - ask TD to kill the job; returns the status it had
-- ("queued" jobs are canceled, "running" ones killed, finished ones untouched).
function Job:kill()
  check(self, "kill")
  local d, resp = http.request(client_of(self), {
    method = "POST", path = http.path("/v3/job/kill/%s", self.job_id), form = {}, idempotent = true,
    describe = function()
      local q = self.query and tostring(self.query):gsub("%s+", " "):sub(1, 60)
      return ("kill job %s%s"):format(self.job_id, q and (" (" .. (self.status or "?") .. ": " .. q .. ")") or "")
    end,
  })
  if resp.dry_run then return nil end
  return d.former_status
end

local function fail(self)
  local ok = pcall(self.show, self) -- for debug.stderr; the failure itself matters more
  local stderr = ok and self.debug and self.debug.stderr or nil
  if self.status == "killed" then
    errors.raise { kind = "job_killed", job_id = self.job_id, message = "the job was killed" }
  end
  local first = stderr and stderr:match("[^\n]*[Ee]rror[^\n]*") or stderr and stderr:match("[^\n]+")
  errors.raise {
    kind = "job_failed", job_id = self.job_id, status = nil,
    message = first and ("the job failed: " .. first) or "the job failed",
    stderr = stderr, cmdout = ok and self.debug and self.debug.cmdout or nil,
    hint = stderr and nil or "job:show().debug may tell more",
  }
end

--- job:wait{timeout=, interval=1, max_interval=30, progress=} - poll until
-- the job finishes. `booting` is not finished. Transient network errors
-- while polling are tolerated until the timeout. Raises job_failed (with
-- the engine's stderr), job_killed or timeout; returns the job on success.
function Job:wait(opts)
  check(self, "wait")
  opts = errors.opts("job:wait", opts, WAIT_OPTS)
  local timeout = opts.timeout
  if timeout ~= nil then errors.check("job:wait", "timeout", timeout, "number") end
  for _, k in ipairs { "interval", "max_interval" } do
    if opts[k] ~= nil then errors.check("job:wait", k, opts[k], "number") end
  end
  if opts.progress ~= nil then errors.check("job:wait", "progress", opts.progress, "boolean") end
  local interval = opts.interval or 1
  local max_interval = opts.max_interval or 30
  local started = core.now()
  local deadline = timeout and started + timeout
  local bar = progress.new(opts.progress, "job " .. self.job_id)
  local ok, err = pcall(function()
    while true do
      local ok2, e = pcall(self.refresh, self)
      if not ok2 then
        if not (errors.is(e) and e.retryable) then error(e, 0) end
      elseif FINISHED[self.status] then
        return
      end
      bar:update("%s %s", self.status or "?", progress.clock(core.now() - started))
      local left = deadline and (deadline - core.now())
      if left and left <= 0 then
        errors.raise {
          kind = "timeout", job_id = self.job_id, retryable = false,
          message = ("the job did not finish within %gs (status %s; it keeps running on TD)"):format(timeout, self.status or "?"),
        }
      end
      async.sleep(left and math.min(interval, left) or interval)
      interval = math.min(interval * 1.5, max_interval)
    end
  end)
  bar:done()
  if not ok then
    if err == "interrupted" or (errors.is(err) and err.kind == "interrupted") then
      -- Ctrl-C stops the wait, not the job: say which one keeps running
      errors.raise { kind = "interrupted", message = "stopped by Ctrl-C", job_id = self.job_id }
    end
    error(err, 0)
  end
  if self.status ~= "success" then fail(self) end
  if not self.hive_result_schema then pcall(self.show, self) end
  return self
end

-- Reading the result of an unfinished job waits for it first, with the
-- `timeout` and `progress` options of job:wait (default: no time bound, as
-- job:wait; progress on a terminal).
local function ensure_success(self, o)
  if self.status ~= "success" then
    if not FINISHED[self.status] then
      self:wait { timeout = o and o.timeout, progress = o and o.progress }
    end
    if self.status ~= "success" then fail(self) end
  end
end

-- the options of rows, records, fetch and result_table
local FETCH_OPTS = { parallel = true, chunk_size = true, parallel_threshold = true, timeout = true, progress = true }
M.FETCH_OPTS = FETCH_OPTS

local function fetch_opts(fname, job, opts)
  opts = errors.opts(fname, opts, FETCH_OPTS)
  result.check_opts(fname, opts)
  if opts.timeout ~= nil then errors.check(fname, "timeout", opts.timeout, "number") end
  if opts.progress ~= nil then errors.check(fname, "progress", opts.progress, "boolean") end
  return {
    parallel = opts.parallel, chunk_size = opts.chunk_size, timeout = opts.timeout, progress = opts.progress,
    parallel_threshold = opts.parallel_threshold, size = job.result_size,
  }
end

--- job:rows{parallel =, chunk_size =, parallel_threshold =, timeout =,
-- progress =} - stream the result rows as arrays (SQL NULL is td.null).
-- Waits for the job first if it is not finished (timeout and progress as
-- job:wait: no time bound by default). The fourth value is a closing value, so `break`
-- releases the transfer. Large results (result_size >= parallel_threshold,
-- 64 MiB) are fetched over `parallel` ranged connections (default 4, in
-- chunks of chunk_size = 8 MiB); parallel = false keeps one connection.
--   for row in job:rows() do ... end
function Job:rows(opts)
  check(self, "rows")
  local o = fetch_opts("job:rows", self, opts)
  ensure_success(self, o)
  o.size = self.result_size
  return result.stream(client_of(self), self.job_id, o)
end

--- job:columns() - the result's column names.
function Job:columns()
  check(self, "columns")
  ensure_success(self)
  if not self.schema then self:show() end
  return shape.columns(self.schema)
end

--- job:records(opts) - stream the result rows as maps keyed by column name
-- (a NULL column is absent). opts as for job:rows.
function Job:records(opts)
  check(self, "records")
  local o = fetch_opts("job:records", self, opts)
  ensure_success(self, o)
  o.keys = self:columns()
  o.size = self.result_size
  return result.stream(client_of(self), self.job_id, o)
end

--- job:fetch(n, {timeout =, progress =}) - the first n rows (default 10)
-- as an array of arrays; the transfer is released as soon as they have
-- arrived. An unfinished job is waited for first (timeout as job:wait).
function Job:fetch(n, opts)
  check(self, "fetch")
  n = n or 10
  errors.check("job:fetch", "n", n, "integer")
  local o = fetch_opts("job:fetch", self, opts)
  local rows = {}
  if n <= 0 then return rows end
  ensure_success(self, o)
  for row in self:rows { parallel = false } do -- a few rows: no chunks fetched ahead
    rows[#rows + 1] = row
    if #rows >= n then break end
  end
  return rows
end

--- job:result_table(n, {timeout =, progress =}) - { columns = {...}, rows
-- = {...}, total = } with at most n rows (all when n is nil), ready for
-- td.pretty; when the result has more rows, `total` is its size
-- (num_records) and it prints "(first 3 of 50 rows)".
function Job:result_table(n, opts)
  check(self, "result_table")
  if n ~= nil then errors.check("job:result_table", "n", n, "integer") end
  local o = fetch_opts("job:result_table", self, opts)
  ensure_success(self, o)
  local cols = self:columns()
  local rows, cut = {}, false
  for row in self:rows { parallel = n == nil and "auto" or false } do
    if n and #rows >= n then cut = true break end
    rows[#rows + 1] = row
  end
  -- total: the result's size when only the first n rows were taken
  local total = nil
  if cut then total = math.type(self.num_records) == "integer" and self.num_records or true end
  return setmetatable({ columns = cols, rows = rows, total = total }, { __name = "td.result_table",
    __tostring = function(t) return require("td.pretty").table(t.columns, t.rows, { total = t.total }) end })
end

--- job:download(target, {format =, header = false, objects = false,
-- progress =, parallel =, chunk_size =, parallel_threshold =}) - write
-- the result. Waits for the job if needed. target is a file name, "-" or
-- io.stdout for standard output, or any open Lua file handle (left open).
-- A regular file is written as `<name>.tmp` and renamed when complete (on
-- failure nothing is left at the name); a symbolic link keeps pointing
-- where it pointed (its target is replaced); a FIFO or a device is written
-- straight (see td.output). format is csv, tsv, json (one JSON array of
-- rows), jsonl (one JSON array per line) or msgpack.gz (TD's bytes as they
-- are, verified: gzip to the end, msgpack framing, rows counted, size
-- checked against result_size); by default it comes from the file name's
-- suffix (required for "-" and handles). header = true writes the column
-- names first; objects = true writes json/jsonl rows as objects keyed by
-- column name. Returns { path, format, rows, bytes, wire_bytes,
-- connections, requests, elapsed }; raises corrupt/truncated when the
-- result is not what TD's counts say. See docs/results.md.
--   td.query(sql, {db = "web"}):wait():download("-", {format = "csv"})
function Job:download(path, opts)
  check(self, "download")
  local o = download.options(path, opts)
  ensure_success(self, o)
  local columns = {}
  if o.format ~= "msgpack.gz" then
    if not self.schema then self:show() end
    columns = self.schema or {}
  end
  return download.run(client_of(self), self, path, o, columns)
end

--- job:statistics() - GET /v3/job/statistics/:id, e.g. { records_inserted = 42 }
-- (numeric strings become integers).
function Job:statistics()
  check(self, "statistics")
  local d = http.request(client_of(self), { path = http.path("/v3/job/statistics/%s", self.job_id) })
  for k, v in pairs(d) do
    if type(v) == "string" and v:match("^%-?%d+$") then d[k] = math.tointeger(tonumber(v)) or v end
  end
  return d
end

--- job:result_export{result = url_or_saved_name, retry_limit =, priority =,
-- pool_name =, domain_key =, timeout =, progress =} - write this job's result to another
-- destination (POST /v3/job/result_export/:id). Waits for the job first.
-- Returns the new result_export Job. Submission is idempotent through a
-- domain_key (generated when none is given), as for query().
local RESULT_EXPORT_OPTS = { result = true, retry_limit = true, priority = true, pool_name = true,
  domain_key = true, timeout = true, progress = true }

function Job:result_export(opts)
  check(self, "result_export")
  errors.check("job:result_export", "opts", opts, "table")
  errors.opts("job:result_export", opts, RESULT_EXPORT_OPTS)
  errors.check("job:result_export", "result", opts.result, "string")
  if opts.result == "" then
    errors.raise { kind = "usage", message = "bad argument 'result' to 'job:result_export' (a result URL or saved result name expected, got \"\")" }
  end
  for _, k in ipairs { "retry_limit", "priority" } do
    if opts[k] ~= nil then errors.check("job:result_export", k, opts[k], "integer") end
  end
  for _, k in ipairs { "pool_name", "domain_key" } do
    if opts[k] ~= nil then errors.check("job:result_export", k, opts[k], "string") end
  end
  if opts.timeout ~= nil then errors.check("job:result_export", "timeout", opts.timeout, "number") end
  ensure_success(self, opts)
  local client = client_of(self)
  local submit = require "td.submit"
  local key = submit.key(opts.domain_key, "domain_key")
  return submit.job(client, {
    method = "POST", path = http.path("/v3/job/result_export/%s", self.job_id),
    form = { result = opts.result, retry_limit = opts.retry_limit, priority = opts.priority,
      pool_name = opts.pool_name, domain_key = key },
    describe = ("export the result of job %s to %s"):format(self.job_id, opts.result),
  }, key, { type = "result_export" })
end

return M
