--- td.textfile: where the text readers and writers (td.csv, td.tsv,
-- td.json, td.jsonl) read from and write to.
-- A source is a path, "-" (standard input) or an open file handle; a
-- target is anything td.output writes: a path (a regular file through
-- `<path>.tmp` and a rename, so a reader never sees half a file; a FIFO or
-- a device straight; a symlink kept), "-" (standard output) or an open
-- file handle. Handles are used as they are and never closed here.
local errors = require "td.errors"
local output = require "td.output"

local M = {}

local function io_error(msg, path)
  return errors.new { kind = "io", message = msg, path = path }
end

local function is_handle(v) return io.type(v) == "file" end

--- M.open_in(fname, source) -> handle, close_fn, name
-- close_fn() closes the handle when this module opened it.
function M.open_in(fname, src)
  if is_handle(src) then return src, function() end, "(handle)" end
  if src == "-" then return io.stdin, function() end, "(stdin)" end
  if type(src) ~= "string" or src == "" then
    errors.raise { kind = "usage", message = ("bad argument 'source' to '%s' (path, \"-\" or file handle expected, got %s)")
      :format(fname, src == nil and "no value" or type(src)) }
  end
  local f, err = io.open(src, "rb")
  if not f then error(io_error(("%s: cannot open %s"):format(fname, tostring(err)), src), 0) end
  return f, function() f:close() end, src
end

--- M.open_out(fname, target) -> out
-- out.write(s) writes (raising an `io` error on failure), out.commit()
-- finishes, out.abort() drops a half-written file; out.done is true after
-- either. How each kind of target is written is td.output's decision.
function M.open_out(fname, target)
  local o = output.open(target, fname)
  local out = { name = o.name, done = false }
  function out.write(s) o:write(s) end
  function out.commit()
    if out.done then return end
    out.done = true
    o:commit()
  end
  function out.abort()
    if out.done then return end
    out.done = true
    o:abort()
  end
  return out
end

return M
