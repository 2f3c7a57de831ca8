--- td.output: where a written result goes — the one place that decides
-- how a file named by the user is written.
--   local out = output.open(target, "job:download")
--   out:write(s) ... out:commit()    -- or out:abort() on failure
-- target is one of:
--   * "-" or io.stdout: standard output (flushed, never closed);
--   * an open Lua file handle (io.open(...), io.stderr): written straight,
--     flushed on commit, left open for its owner;
--   * a path. A regular file (or a name that does not exist yet) is written
--     as "<name>.tmp" beside it, synced and renamed over it on commit, so a
--     reader never sees half a file and a failure leaves the old one; the
--     old file's permission bits are kept. Symbolic links are followed to
--     their final target, which is what gets replaced: the link keeps
--     pointing where it pointed. A FIFO, a character or block device or a
--     socket is written straight (there is nothing to rename), so
--     "/dev/stdout" and named pipes work. A directory is refused.
local core = require "td.core"
local errors = require "td.errors"

local M = {}

local function usage(fname, msg)
  errors.raise { kind = "usage", message = ("bad argument 'path' to '%s' (%s)"):format(fname, msg) }
end

local function io_error(msg, path)
  return errors.new { kind = "io", message = msg, path = path }
end

local function dir_of(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

local function is_handle(v)
  return io.type(v) == "file"
end

--- Is v something output.open accepts without looking at the file system
-- ("-" or an open file handle)?
function M.is_stream(v)
  return v == "-" or is_handle(v)
end

--- Check a target before anything is transferred; raises a usage error
-- naming fname. Returns a plan: { kind = "handle"|"stdout"|"straight"|
-- "replace", path = final name, shown = name for messages, mode = bits }.
function M.check(target, fname)
  if target == "-" then return { kind = "stdout", shown = "standard output" } end
  if is_handle(target) then
    if target == io.stdout then return { kind = "stdout", shown = "standard output" } end
    return { kind = "handle", handle = target, shown = tostring(target) }
  end
  if io.type(target) == "closed file" then usage(fname, "the file handle is closed") end
  if type(target) ~= "string" then
    errors.raise { kind = "usage", message = ("bad argument 'path' to '%s' (a file name, \"-\" or a file handle expected, got %s)")
      :format(fname, target == nil and "no value" or type(target)) }
  end
  if target == "" or target:sub(-1) == "/" then usage(fname, ("a file name expected, got %q"):format(target)) end
  if target:find("\0", 1, true) then usage(fname, "a file name may not contain a NUL byte") end
  local kind, final, mode = core.target(target)
  if not kind then usage(fname, final) end
  if kind == "dir" then usage(fname, ("%q is a directory"):format(target)) end
  if kind == "fifo" or kind == "char" or kind == "block" or kind == "socket" then
    return { kind = "straight", path = final, shown = target }
  end
  if kind ~= "file" and kind ~= "missing" then usage(fname, ("%q is not a file that can be written"):format(target)) end
  local dir = dir_of(final)
  local dkind = core.target(dir)
  if dkind ~= "dir" then usage(fname, ("directory %q does not exist"):format(dir)) end
  return { kind = "replace", path = final, shown = target, mode = mode }
end

local Out = {}
Out.__index = Out

--- Open a target for writing (see the module comment); the plan from
-- M.check may be given instead of the target. Raises io errors.
function M.open(target, fname)
  local plan = type(target) == "table" and target.kind and target or M.check(target, fname)
  local o = setmetatable({ plan = plan, name = plan.shown, bytes = 0 }, Out)
  if plan.kind == "stdout" then
    o.f = io.stdout
  elseif plan.kind == "handle" then
    o.f = plan.handle
  elseif plan.kind == "straight" then
    local f, err = io.open(plan.path, "wb")
    if not f then error(io_error(("cannot write %s: %s"):format(plan.shown, tostring(err)), plan.shown), 0) end
    o.f, o.owned = f, true
  else
    o.tmp = plan.path .. ".tmp"
    local f, err = io.open(o.tmp, "wb")
    if not f then error(io_error(("cannot write %s: %s"):format(o.tmp, tostring(err)), o.tmp), 0) end
    o.f, o.owned = f, true
  end
  return o
end

--- Write a piece of text; raises an io error.
function Out:write(s)
  local ok, err = self.f:write(s)
  if not ok then
    error(io_error(("writing %s failed: %s"):format(self.tmp or self.name, tostring(err)), self.name), 0)
  end
  self.bytes = self.bytes + #s
end

--- Finish: flush, and for a regular file sync and rename it into place.
function Out:commit()
  local f = self.f
  self.f = nil
  if not self.owned then
    local ok, err = f:flush()
    if not ok then error(io_error(("writing %s failed: %s"):format(self.name, tostring(err)), self.name), 0) end
    return
  end
  if self.tmp then
    local ok, err = core.fsync(f)
    if not ok then
      f:close()
      os.remove(self.tmp)
      error(io_error(("writing %s failed: %s"):format(self.tmp, tostring(err)), self.tmp), 0)
    end
  end
  local ok, err = f:close()
  if not ok then
    if self.tmp then os.remove(self.tmp) end
    error(io_error(("closing %s failed: %s"):format(self.tmp or self.name, tostring(err)), self.name), 0)
  end
  if self.tmp then
    if self.plan.mode then core.chmod(self.tmp, self.plan.mode) end
    local rok, rerr = os.rename(self.tmp, self.plan.path)
    if not rok then
      os.remove(self.tmp)
      error(io_error(("cannot rename %s to %s: %s"):format(self.tmp, self.plan.path, tostring(rerr)), self.name), 0)
    end
  end
end

--- Give up: a regular file's tmp is removed (the old file stays as it was);
-- straight writes cannot be taken back, they are only closed.
function Out:abort()
  local f = self.f
  self.f = nil
  if f and self.owned then f:close() end
  if self.tmp then os.remove(self.tmp) end
end

return M
