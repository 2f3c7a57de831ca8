--- td.jsonl: JSON Lines files (one JSON value per line).
--   for rec, line in td.jsonl.records("events.jsonl") do print(line, rec.user) end
--   td.jsonl.write("out.jsonl", { { a = 1 }, { a = 2 } })
-- Values decode and encode as in td.json. Blank lines are skipped. A line
-- that is not JSON raises a `bad_input` error with `file` and `line`,
-- unless on_error = "skip" or a function (called with that error; reading
-- goes on unless it raises).
local errors = require "td.errors"
local textfile = require "td.textfile"
local json = require "td.json"

local M = {}

local Closer = { __close = function(c) c.close() end }

local function records_iter(fname, source, opts)
  local o = errors.opts(fname, opts, { on_error = true })
  local h = o.on_error
  if h == "skip" then h = function() end
  elseif h == nil or h == "stop" then h = nil
  elseif type(h) ~= "function" then
    errors.raise { kind = "usage", message = ("%s: on_error must be \"stop\", \"skip\" or a function"):format(fname) }
  end
  local f, close_f, name = textfile.open_in(fname, source)
  local lines = f:lines("L")
  local n, closed = 0, false
  local function close()
    if closed then return end
    closed = true
    close_f()
  end
  local decode = json._decode
  local function nxt()
    if closed then return nil end
    while true do
      local ok, s = pcall(lines)
      if not ok then
        close()
        errors.raise { kind = "io", file = name, message = ("%s: reading %s: %s"):format(fname, name, tostring(s)) }
      end
      if s == nil then close(); return nil end
      n = n + 1
      if n == 1 and s:sub(1, 3) == "\239\187\191" then s = s:sub(4) end
      if s:find("%S") then
        local v, err = decode(s)
        if v ~= nil or not err then return v, n end
        local e = errors.new { kind = "bad_input", file = name, line = n, reason = err,
          message = ("%s: %s line %d: %s"):format(fname, name, n, err) }
        if not h then close(); error(e, 0) end
        local hok, herr = pcall(h, e)
        if not hok then close(); error(herr, 0) end
      end
    end
  end
  return nxt, close, name
end
M._records_iter = records_iter

--- td.jsonl.records(source, {on_error =}) -> iterator over (value, line).
-- source: a path, "-" (stdin) or a file handle. `break` closes the file.
function M.records(source, opts)
  local nxt, close = records_iter("td.jsonl.records", source, opts)
  return nxt, nil, nil, setmetatable({ close = close }, Closer)
end

--- td.jsonl.read(source, {on_error =}) -> array of the values.
function M.read(source, opts)
  local nxt, close = records_iter("td.jsonl.read", source, opts)
  local out = {}
  local ok, err = pcall(function() for v in nxt do out[#out + 1] = v end end)
  close()
  if not ok then error(err, 0) end
  return out
end

local Writer = {}
Writer.__index = Writer
Writer.__close = function(w, err) if err ~= nil then w:abort() else w:close() end end

--- td.jsonl.writer(target, {columns =}) -> writer. w:write(v) writes one
-- value as a line. With `columns`, an array row is written as an object
-- keyed by those names by the C text writer of job results (as
-- job:download("x.jsonl", {format = "jsonl", objects = true}) writes
-- rows); other values are written as td.json.encode writes them.
-- w:close() finishes (a path is renamed into place), w:abort() drops a
-- path's output, w.rows counts the lines. Works with `local w <close>`.
function M.writer(target, opts)
  local o = errors.opts("td.jsonl.writer", opts, { columns = true })
  if o.columns ~= nil and type(o.columns) ~= "table" then
    errors.raise { kind = "usage", message = "td.jsonl.writer: columns must be an array of names" }
  end
  local out = textfile.open_out("td.jsonl.writer", target)
  local w = setmetatable({ out = out, rows = 0 }, Writer)
  if o.columns then
    local spec = {}
    for i, c in ipairs(o.columns) do spec[i] = { tostring(c) } end
    w.fw = require("td.v3.formats").writer("jsonl", out.write, spec, { objects = true })
  end
  return w
end

function Writer:write(v)
  if self.out.done then errors.raise { kind = "usage", message = "td.jsonl.writer: the writer is closed" } end
  if self.fw and type(v) == "table" and (v[1] ~= nil or next(v) == nil) then
    self.fw:row(v)
  else
    self.out.write(json.encode(v) .. "\n")
  end
  self.rows = self.rows + 1
end

function Writer:close()
  if self.out.done then return self.rows end
  if self.fw then
    local ok, err = pcall(self.fw.finish, self.fw)
    if not ok then self.out.abort(); error(err, 0) end
  end
  self.out.commit()
  return self.rows
end

function Writer:abort() self.out.abort() end

--- td.jsonl.write(target, values, {columns =}) -> the number of lines.
-- values: an array or an iterator function.
function M.write(target, values, opts)
  errors.check("td.jsonl.write", "values", values, "table", "function")
  local w = M.writer(target, opts)
  local ok, err = pcall(function()
    if type(values) == "function" then
      for v in values do w:write(v) end
    else
      for i = 1, #values do w:write(values[i]) end
    end
  end)
  if not ok then w:abort(); error(err, 0) end
  return w:close()
end

return M
