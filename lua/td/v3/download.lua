--- td.v3.download: writing a job's result to a file (job:download).
-- The result is always fetched as msgpack.gz (resumable, byte-counted,
-- optionally parallel ranged; see td.result) and converted here, so every
-- format agrees with the others (td.v3.formats has the rules). msgpack.gz
-- is written as the server's bytes, verified on the way. Where the output
-- goes (a file through .tmp and a rename, a FIFO or device straight,
-- standard output, a file handle) is decided by td.output.
local core = require "td.core"
local errors = require "td.errors"
local formats = require "td.v3.formats"
local progress = require "td.progress"
local result = require "td.v3.result"
local output = require "td.output"

local M = {}

local FNAME = "job:download"

local SUFFIXES = {
  { "%.msgpack%.gz$", "msgpack.gz" }, { "%.csv$", "csv" }, { "%.tsv$", "tsv" },
  { "%.jsonl$", "jsonl" }, { "%.ndjson$", "jsonl" }, { "%.json$", "json" },
}

local KNOWN = {
  format = true, header = true, objects = true, progress = true, timeout = true,
  parallel = true, chunk_size = true, parallel_threshold = true,
}

local function usage(msg) errors.raise { kind = "usage", message = msg } end

--- Check job:download's arguments before anything is transferred; returns
-- the options with the format resolved and `target` (the plan of
-- td.output.check). Raises usage errors naming the argument: path (a file
-- name in an existing directory, "-" for standard output, or an open file
-- handle) and opts.format (csv, tsv, json, jsonl, msgpack.gz; default: from
-- the file name's suffix), header, objects, progress, parallel,
-- chunk_size, parallel_threshold.
function M.options(path, opts)
  local target = output.check(path, FNAME)
  if opts ~= nil then errors.check(FNAME, "opts", opts, "table") end
  opts = opts or {}
  errors.opts(FNAME, opts, KNOWN)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.format == nil then
    if type(path) == "string" and path ~= "-" then
      for _, s in ipairs(SUFFIXES) do
        if path:lower():find(s[1]) then
          o.format = s[2]
          break
        end
      end
    end
    if not o.format then
      usage(("bad argument 'format' to '%s' (%s does not tell; give opts.format = csv, tsv, json, jsonl or msgpack.gz)")
        :format(FNAME, type(path) == "string" and path ~= "-" and ("the file name %q"):format(path) or target.shown))
    end
  end
  errors.check(FNAME, "format", o.format, "string")
  if not formats.FORMATS[o.format] then
    usage(("bad argument 'format' to '%s' (csv, tsv, json, jsonl or msgpack.gz expected, got %q)"):format(FNAME, o.format))
  end
  for _, k in ipairs { "header", "objects", "progress" } do
    if o[k] ~= nil then errors.check(FNAME, k, o[k], "boolean") end
  end
  if o.timeout ~= nil then errors.check(FNAME, "timeout", o.timeout, "number") end
  if o.objects and o.format ~= "json" and o.format ~= "jsonl" then
    usage(("bad argument 'objects' to '%s' (only for json and jsonl, not %s)"):format(FNAME, o.format))
  end
  if o.header and o.format == "msgpack.gz" then
    usage(("bad argument 'header' to '%s' (msgpack.gz is written as TD sends it, without a header)"):format(FNAME))
  end
  result.check_opts(FNAME, o)
  o.target = target
  return o
end

local function human(n)
  if n >= 1024 * 1024 * 1024 then return ("%.1f GiB"):format(n / 1073741824) end
  if n >= 1024 * 1024 then return ("%.1f MiB"):format(n / 1048576) end
  if n >= 1024 then return ("%.1f KiB"):format(n / 1024) end
  return n .. " B"
end

-- A result that is not what TD's counts say it is: nothing is kept.
local function bad_result(job, kind, msg)
  return errors.new { kind = kind, job_id = job.job_id, message = msg, retryable = false }
end

--- Write the result of a finished job to path (options from M.options).
-- columns: the decoded hive_result_schema. msgpack.gz bytes are verified
-- as they pass (gzip integrity to the end, msgpack framing, a counted row
-- total, the byte count against result_size when TD gives one) and text
-- formats count the rows they write; a mismatch with TD's counts fails
-- the download and leaves nothing at the final path. Returns { path,
-- format, rows, bytes (written), wire_bytes (msgpack.gz bytes fetched),
-- connections, requests, elapsed }.
function M.run(client, job, path, o, columns)
  local started = core.now()
  local out = output.open(o.target or path, FNAME)
  local size = job.result_size
  local bar = progress.new(o.progress, "job " .. job.job_id .. " -> " .. out.name)
  local ropts = { parallel = o.parallel, chunk_size = o.chunk_size,
    parallel_threshold = o.parallel_threshold, size = size }
  local summary = { path = type(path) == "string" and path or out.name, format = o.format }

  local ok, err = pcall(function()
    local sink = function(s) out:write(s) end
    if o.format == "msgpack.gz" then
      local last = 0
      local check <close> = core.gzcheck()
      local n, src = result.copy(client, job.job_id, function(s)
        local good, kind, msg = check:update(s)
        if not good then error(bad_result(job, kind, msg), 0) end
        sink(s)
        if out.bytes - last >= 1048576 then
          last = out.bytes
          bar:update("%s of %s", human(out.bytes), size and human(size) or "?")
        end
      end, ropts)
      local rows, kind, msg = check:finish()
      if not rows then error(bad_result(job, kind, msg), 0) end
      if math.type(size) == "integer" and size > 0 and n ~= size then
        error(bad_result(job, "truncated", ("received %d bytes of msgpack.gz but TD reported a result_size of %d"):format(n, size)), 0)
      end
      summary.rows = rows
      summary.wire_bytes = n
      summary.connections, summary.requests = src.connections, src.requests
    else
      -- rows go from msgpack straight to text in C: no Lua table per row
      local w = formats.writer(o.format, sink, columns, o)
      local dec, refill, closer, src = result.decode(client, job.job_id, ropts)
      do
        local _ <close> = closer
        while w:pull(dec) ~= "end" do
          refill(dec)
          bar:update("%d rows, %s of %s", w.rows, human((dec:stats())), size and human(size) or "?")
        end
      end
      w:finish()
      summary.rows = w.rows
      summary.wire_bytes = dec:stats()
      summary.connections, summary.requests = src.connections, src.requests
    end
    local want = math.tointeger(job.num_records)
    if want and want >= 0 and summary.rows ~= want then
      error(bad_result(job, "truncated", ("the result holds %d rows but TD reported %d"):format(summary.rows, want)), 0)
    end
    out:commit()
  end)
  bar:done()
  if not ok then
    out:abort()
    error(err, 0)
  end
  summary.bytes = out.bytes
  summary.elapsed = core.now() - started
  return summary
end

return M
