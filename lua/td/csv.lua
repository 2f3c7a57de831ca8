--- td.csv and td.tsv: reading and writing delimited text files.
-- Reading is done in C (td.core.csvreader: RFC 4180 quotes, line ends
-- inside quotes, CRLF, a byte order mark), streamed, so a file of any size
-- is read in flat memory. Writing goes through the C text writer of job
-- results (td.v3.formats), so a file written here reads back the same and
-- matches job:download's csv/tsv byte for byte.
--
--   for rec, line in td.csv.records("users.csv") do print(line, rec.email) end
--   local rows = td.csv.parse('a,b\n1,"x,y"\n')          --> {{"a","b"},{"1","x,y"}}
--   td.csv.write("out.csv", { {1, "a"}, {2, "b"} }, { columns = {"id", "name"} })
--
-- td.csv reads and writes CSV (delimiter ",", quote '"'). td.tsv reads and
-- writes TSV as TD writes it: tab-separated, no quoting, backslash escapes
-- \t \n \r \\ (pass quote = '"' to read tab-separated files that quote).
--
-- Sources are a path, "-" (stdin) or a file handle; targets a path, "-"
-- (stdout) or a file handle (see td.textfile: paths are written through
-- `.tmp` and a rename).
--
-- A record that cannot be read (a quote left open, text after a closing
-- quote, a wrong number of fields) raises a `bad_input` error with
-- `file`, `line` (where the record starts) and `reason`, unless
-- on_error = "skip" (skip it) or a function (called with that error
-- object; reading goes on unless it raises).
local core = require "td.core"
local errors = require "td.errors"
local textfile = require "td.textfile"

local NULL = core.null

local function make(dialect, modname)
  local M = {}

  local READ_OPTS = { delimiter = true, quote = true, escape = true, on_error = true }
  local RECORD_OPTS = { delimiter = true, quote = true, escape = true, on_error = true,
    header = true, columns = true }
  local WRITE_OPTS = { columns = true, header = true }

  local function reader_opts(o)
    local r = { delimiter = dialect.delimiter, quote = dialect.quote, escape = dialect.escape }
    if o.delimiter ~= nil then r.delimiter = o.delimiter end
    if o.quote ~= nil then r.quote = o.quote end
    if o.escape ~= nil then r.escape = o.escape end
    return r
  end

  local function bad_handler(fname, o)
    local h = o.on_error
    if h == nil or h == "stop" then return nil end
    if h == "skip" then return function() end end
    if type(h) == "function" then return h end
    errors.raise { kind = "usage",
      message = ("%s: on_error must be \"stop\", \"skip\" or a function (got %s)"):format(fname, tostring(h)) }
  end

  local function bad_input(fname, name, line, reason)
    return errors.new { kind = "bad_input", file = name, line = line, reason = reason,
      message = ("%s: %s line %d: %s"):format(fname, name, line, reason) }
  end
  M._bad_input = bad_input

  -- a value for the generic for's closing slot: closes the reader and the file
  local Closer = { __close = function(c) c.close() end }

  -- fields iterator over an open source
  local function fields_iter(fname, src, o)
    local fh, close_fh, name
    if type(src) == "string" and o._text then
      fh, close_fh, name = src, function() end, "(text)"
    else
      fh, close_fh, name = textfile.open_in(fname, src)
    end
    local ok, r = pcall(core.csvreader, fh, reader_opts(o))
    if not ok then
      close_fh()
      errors.raise { kind = "usage", message = ("%s: %s"):format(fname, tostring(r)) }
    end
    local handler = bad_handler(fname, o)
    local closed = false
    local function close()
      if closed then return end
      closed = true
      r:close()
      close_fh()
    end
    local function nxt()
      if closed then return nil end
      while true do
        local okr, f, msg, line = pcall(r.next, r)
        if not okr then
          close()
          error(errors.new { kind = "io", file = name, message = ("%s: reading %s: %s"):format(fname, name, tostring(f)) }, 0)
        end
        if f == nil then
          close()
          return nil
        end
        if f then return f, msg end
        local e = bad_input(fname, name, line, msg)
        if not handler then close(); error(e, 0) end
        local hok, herr = pcall(handler, e)
        if not hok then close(); error(herr, 0) end
      end
    end
    return nxt, close, name, handler
  end
  M._fields_iter = fields_iter

  --- td.csv.rows(source, {delimiter =, quote =, escape =, on_error =})
  -- -> iterator over (fields, line): every record as an array of strings
  -- and the line it starts on. The header line, if any, is a row like the
  -- others. `break` out of a for loop closes the file.
  function M.rows(source, opts)
    local fname = modname .. ".rows"
    local o = errors.opts(fname, opts, READ_OPTS)
    local nxt, close = fields_iter(fname, source, o)
    return nxt, nil, nil, setmetatable({ close = close }, Closer)
  end

  -- record iterator: maps column name -> string
  local function records_iter(fname, source, o)
    local nxt, close, name, handler = fields_iter(fname, source, o)
    local cols = o.columns
    if cols ~= nil and type(cols) ~= "table" then
      close()
      errors.raise { kind = "usage", message = ("%s: columns must be an array of names"):format(fname) }
    end
    local header = o.header
    if header == nil then header = cols == nil end
    local hline
    if header then
      local f, line = nxt()
      if f == nil then return function() return nil end, close, name end
      hline = line
      if not cols then cols = f end
    end
    if not cols then
      close()
      errors.raise { kind = "usage", message = fname .. ": header = false needs columns = {names}" }
    end
    local n = #cols
    local function rec()
      while true do
        local f, line = nxt()
        if f == nil then return nil end
        if #f == n then
          local r = {}
          for i = 1, n do r[cols[i]] = f[i] end
          return r, line
        end
        local e = bad_input(fname, name, line, ("%d fields, but %d columns%s"):format(#f, n,
          hline and (" (from the header on line " .. hline .. ")") or ""))
        if not handler then close(); error(e, 0) end
        local hok, herr = pcall(handler, e)
        if not hok then close(); error(herr, 0) end
      end
    end
    return rec, close, name, cols
  end
  M._records_iter = records_iter

  --- td.csv.records(source, {header = true, columns =, delimiter =, quote =,
  -- escape =, on_error =}) -> iterator over (record, line): each record a
  -- table of column name -> string (an empty field is ""). The names come
  -- from the header line, or from `columns` (then the file has no header
  -- line unless header = true, which skips it). A record with another
  -- number of fields than there are columns is a bad record.
  function M.records(source, opts)
    local fname = modname .. ".records"
    local o = errors.opts(fname, opts, RECORD_OPTS)
    local rec, close = records_iter(fname, source, o)
    return rec, nil, nil, setmetatable({ close = close }, Closer)
  end

  --- td.csv.read(source, opts) -> array of records (as records() reads them).
  function M.read(source, opts)
    local fname = modname .. ".read"
    local o = errors.opts(fname, opts, RECORD_OPTS)
    local rec, close = records_iter(fname, source, o)
    local out = {}
    local ok, err = pcall(function()
      for r in rec do out[#out + 1] = r end
    end)
    close()
    if not ok then error(err, 0) end
    return out
  end

  --- td.csv.parse(text, {delimiter =, quote =, escape =, on_error =}) ->
  -- array of rows (arrays of strings), the header line included.
  function M.parse(text, opts)
    local fname = modname .. ".parse"
    errors.check(fname, "text", text, "string")
    local o = errors.opts(fname, opts, READ_OPTS)
    local oo = { _text = true }
    for k, v in pairs(o) do oo[k] = v end
    local nxt = fields_iter(fname, text, oo)
    local out = {}
    for f in nxt do out[#out + 1] = f end
    return out
  end

  local Writer = {}
  Writer.__index = Writer
  Writer.__close = function(w, err) if err ~= nil then w:abort() else w:close() end end

  --- td.csv.writer(target, {columns =, header =}) -> writer
  -- w:write(row) writes one row: an array of values, or a record (a table
  -- keyed by column name; needs `columns`, or takes the sorted keys of the
  -- first record). Values: strings, numbers, booleans, td.null or a missing
  -- field (an empty field), nested tables (JSON text). header (default true
  -- when there are columns) writes the column names first. w:close()
  -- finishes (a path is renamed into place); w:abort() drops a path's
  -- output; w.rows counts the rows written. Works with `local w <close>`.
  function M.writer(target, opts)
    local fname = modname .. ".writer"
    local o = errors.opts(fname, opts, WRITE_OPTS)
    if o.columns ~= nil and type(o.columns) ~= "table" then
      errors.raise { kind = "usage", message = fname .. ": columns must be an array of names" }
    end
    local out = textfile.open_out(fname, target)
    return setmetatable({ out = out, columns = o.columns, header = o.header, rows = 0, fname = fname }, Writer)
  end

  local formats
  local function start(w, cols)
    formats = formats or require "td.v3.formats"
    local spec = {}
    for i, c in ipairs(cols or {}) do spec[i] = { tostring(c) } end
    local header = w.header
    if header == nil then header = #spec > 0 end
    w.fw = formats.writer(dialect.format, w.out.write, spec, { header = header })
  end

  function Writer:write(row)
    if type(row) ~= "table" then
      errors.raise { kind = "usage", message = ("bad argument 'row' to '%s:write' (table expected, got %s)")
        :format(self.fname, row == nil and "no value" or type(row)) }
    end
    if self.out.done then errors.raise { kind = "usage", message = self.fname .. ": the writer is closed" } end
    local is_map = row[1] == nil and next(row) ~= nil
    if not self.fw then
      local cols = self.columns
      if not cols and is_map then
        cols = {}
        for k in pairs(row) do cols[#cols + 1] = tostring(k) end
        table.sort(cols)
        self.columns = cols
      end
      start(self, cols)
    end
    if is_map then
      local cols = self.columns
      if not cols then
        errors.raise { kind = "usage", message = self.fname .. ": a record (a table keyed by name) needs columns" }
      end
      local arr = {}
      for i = 1, #cols do
        local v = row[cols[i]]
        if v == nil then v = NULL end
        arr[i] = v
      end
      row = arr
    end
    self.fw:row(row)
    self.rows = self.fw.rows
  end

  function Writer:close()
    if self.out.done then return self.rows end
    local ok, err = pcall(function()
      if not self.fw then start(self, self.columns) end
      self.fw:finish()
    end)
    if not ok then self.out.abort(); error(err, 0) end
    self.out.commit()
    return self.rows
  end

  function Writer:abort() self.out.abort() end

  --- td.csv.write(target, rows, {columns =, header =}) -> the number of rows
  -- written. rows: an array or an iterator function (rows or records, as
  -- writer:write takes them).
  function M.write(target, rows, opts)
    local fname = modname .. ".write"
    errors.check(fname, "rows", rows, "table", "function")
    local w = M.writer(target, opts)
    local ok, err = pcall(function()
      if type(rows) == "function" then
        for r in rows do w:write(r) end
      else
        for i = 1, #rows do w:write(rows[i]) end
      end
    end)
    if not ok then w:abort(); error(err, 0) end
    return w:close()
  end

  return M
end

local csv = make({ delimiter = ",", quote = '"', escape = false, format = "csv" }, "td.csv")
csv._make = make -- td.tsv is the same module with TSV's rules
return csv
