--- td.textfile: where the text readers and writers (td.csv, td.tsv,
-- td.json, td.jsonl) read from and write to.
-- A source is a path, "-" (standard input) or an open file handle; a
-- target is a path, "-" (standard output) or an open file handle. A path
-- is written through `<path>.tmp`, renamed to the path when the writing
-- ends well and removed when it fails, so a reader of the path never sees
-- half a file. Handles are used as they are and never closed here.
local errors = require "td.errors"

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
-- finishes (flush; close and rename for a path), out.abort() drops a
-- half-written path. out.name is what to call the target in messages.
function M.open_out(fname, target)
  local f, path, tmp
  if is_handle(target) then
    f = target
  elseif target == "-" then
    f = io.stdout
  elseif type(target) == "string" and target ~= "" then
    path, tmp = target, target .. ".tmp"
    local err
    f, err = io.open(tmp, "wb")
    if not f then error(io_error(("%s: cannot write %s"):format(fname, tostring(err)), tmp), 0) end
  else
    errors.raise { kind = "usage", message = ("bad argument 'target' to '%s' (path, \"-\" or file handle expected, got %s)")
      :format(fname, target == nil and "no value" or type(target)) }
  end
  local name = path or (f == io.stdout and "(stdout)" or "(handle)")
  local out = { name = name, done = false }
  function out.write(s)
    local ok, err = f:write(s)
    if not ok then error(io_error(("%s: writing %s failed: %s"):format(fname, name, tostring(err)), path), 0) end
  end
  function out.commit()
    if out.done then return end
    out.done = true
    local ok, err = f:flush()
    if not ok then
      if tmp then f:close(); os.remove(tmp) end
      error(io_error(("%s: writing %s failed: %s"):format(fname, name, tostring(err)), path), 0)
    end
    if tmp then
      ok, err = f:close()
      if not ok then
        os.remove(tmp)
        error(io_error(("%s: closing %s failed: %s"):format(fname, tmp, tostring(err)), tmp), 0)
      end
      ok, err = os.rename(tmp, path)
      if not ok then
        os.remove(tmp)
        error(io_error(("%s: cannot rename %s to %s: %s"):format(fname, tmp, path, tostring(err)), path), 0)
      end
    end
  end
  function out.abort()
    if out.done then return end
    out.done = true
    if tmp then
      f:close()
      os.remove(tmp)
    end
  end
  return out
end

return M
