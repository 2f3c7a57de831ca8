--- td.v3.download: writing a job's result to a file (job:download).
-- The result is always fetched as msgpack.gz (resumable, byte-counted,
-- optionally parallel ranged; see td.result) and converted here, so every
-- format agrees with the others (td.formats has the rules). msgpack.gz is
-- written as the server's bytes. The output goes to `<path>.tmp`, which is
-- renamed to `path` only when everything arrived; on any failure the tmp
-- file is removed and `path` is left as it was.
local core = require "td.core"
local errors = require "td.errors"
local formats = require "td.v3.formats"
local progress = require "td.progress"
local result = require "td.v3.result"

local M = {}

local FNAME = "job:download"

local SUFFIXES = {
  { "%.msgpack%.gz$", "msgpack.gz" }, { "%.csv$", "csv" }, { "%.tsv$", "tsv" },
  { "%.jsonl$", "jsonl" }, { "%.ndjson$", "jsonl" }, { "%.json$", "json" },
}

local KNOWN = {
  format = true, header = true, objects = true, progress = true,
  parallel = true, chunk_size = true, parallel_threshold = true,
}

local function usage(msg) errors.raise { kind = "usage", message = msg } end

local function dir_of(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

--- Check job:download's arguments before anything is transferred; returns
-- the options with the format resolved. Raises usage errors naming the
-- argument: path (a string naming a file in an existing directory) and
-- opts.format (csv, tsv, json, jsonl, msgpack.gz; default: from the
-- file name's suffix), header, objects, progress, parallel, chunk_size,
-- parallel_threshold.
function M.options(path, opts)
  errors.check(FNAME, "path", path, "string")
  if path == "" or path:sub(-1) == "/" then
    usage(("bad argument 'path' to '%s' (a file name expected, got %q)"):format(FNAME, path))
  end
  if opts ~= nil then errors.check(FNAME, "opts", opts, "table") end
  opts = opts or {}
  local dir = dir_of(path)
  local probe = io.open(dir .. "/.", "r")
  if not probe then
    usage(("bad argument 'path' to '%s' (directory %q does not exist)"):format(FNAME, dir))
  end
  probe:close()
  local isdir = io.open(path .. "/.", "r")
  if isdir then
    isdir:close()
    usage(("bad argument 'path' to '%s' (%q is a directory)"):format(FNAME, path))
  end
  errors.opts(FNAME, opts, KNOWN)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.format == nil then
    for _, s in ipairs(SUFFIXES) do
      if path:lower():find(s[1]) then
        o.format = s[2]
        break
      end
    end
    if not o.format then
      usage(("bad argument 'format' to '%s' (the file name %q does not tell; give opts.format = csv, tsv, json, jsonl or msgpack.gz)")
        :format(FNAME, path))
    end
  end
  errors.check(FNAME, "format", o.format, "string")
  if not formats.FORMATS[o.format] then
    usage(("bad argument 'format' to '%s' (csv, tsv, json, jsonl or msgpack.gz expected, got %q)"):format(FNAME, o.format))
  end
  for _, k in ipairs { "header", "objects", "progress" } do
    if o[k] ~= nil then errors.check(FNAME, k, o[k], "boolean") end
  end
  if o.objects and o.format ~= "json" and o.format ~= "jsonl" then
    usage(("bad argument 'objects' to '%s' (only for json and jsonl, not %s)"):format(FNAME, o.format))
  end
  if o.header and o.format == "msgpack.gz" then
    usage(("bad argument 'header' to '%s' (msgpack.gz is written as TD sends it, without a header)"):format(FNAME))
  end
  result.check_opts(FNAME, o)
  return o
end

local function io_error(msg, path)
  return errors.new { kind = "io", message = msg, path = path }
end

local function human(n)
  if n >= 1024 * 1024 * 1024 then return ("%.1f GiB"):format(n / 1073741824) end
  if n >= 1024 * 1024 then return ("%.1f MiB"):format(n / 1048576) end
  if n >= 1024 then return ("%.1f KiB"):format(n / 1024) end
  return n .. " B"
end

--- Write the result of a finished job to path (options from M.options).
-- columns: the decoded hive_result_schema. Returns { path, format, rows,
-- bytes (written to the file), wire_bytes (msgpack.gz bytes fetched),
-- connections, requests, elapsed }.
function M.run(client, job, path, o, columns)
  local started = core.now()
  local tmp = path .. ".tmp"
  local f, ferr = io.open(tmp, "wb")
  if not f then
    errors.raise { kind = "io", message = ("cannot write %s: %s"):format(tmp, tostring(ferr)), path = tmp }
  end
  local written = 0
  local function sink(s)
    local ok, err = f:write(s)
    if not ok then error(io_error(("writing %s failed: %s"):format(tmp, tostring(err)), tmp), 0) end
    written = written + #s
  end
  local size = job.result_size
  local bar = progress.new(o.progress, "job " .. job.job_id .. " -> " .. path)
  local ropts = { parallel = o.parallel, chunk_size = o.chunk_size,
    parallel_threshold = o.parallel_threshold, size = size }
  local summary = { path = path, format = o.format }

  local ok, err = pcall(function()
    if o.format == "msgpack.gz" then
      local last = 0
      local n, src = result.copy(client, job.job_id, function(s)
        sink(s)
        if written - last >= 1048576 then
          last = written
          bar:update("%s of %s", human(written), size and human(size) or "?")
        end
      end, ropts)
      summary.rows = job.num_records -- TD's count: the bytes are not decoded
      summary.wire_bytes = n
      summary.connections, summary.requests = src.connections, src.requests
    else
      local w = formats.writer(o.format, sink, columns, o)
      local iter, _, _, closer, dec, src = result.stream(client, job.job_id, ropts)
      do
        local _ <close> = closer
        local row = iter()
        local count = 0
        while row ~= nil do
          w:row(row)
          count = count + 1
          if count & 4095 == 0 then
            local wire = dec:stats()
            bar:update("%d rows, %s of %s", count, human(wire), size and human(size) or "?")
          end
          row = iter()
        end
      end
      w:finish()
      summary.rows = w.rows
      summary.wire_bytes = dec:stats()
      summary.connections, summary.requests = src.connections, src.requests
    end
    local cok, cerr = f:close()
    f = nil
    if not cok then error(io_error(("closing %s failed: %s"):format(tmp, tostring(cerr)), tmp), 0) end
    local rok, rerr = os.rename(tmp, path)
    if not rok then error(io_error(("cannot rename %s to %s: %s"):format(tmp, path, tostring(rerr)), path), 0) end
  end)
  bar:done()
  if not ok then
    if f then f:close() end
    os.remove(tmp)
    error(err, 0)
  end
  summary.bytes = written
  summary.elapsed = core.now() - started
  return summary
end

return M
