--- td.v3.import_file: importing a CSV, TSV or JSON Lines file into a table.
-- The file is read as a stream (td.csv / td.tsv: the C reader;
-- td.jsonl), each line turned into a record with a `time`, and the
-- records handed to client:import, which encodes and uploads them in
-- retry-safe chunks: memory stays flat whatever the file's size.
--
-- Column types are given (`types`) or inferred from the first `sample`
-- records the way `td import:auto` does: a column whose values all read
-- as integers is a long, all numbers a double, anything else a string; an
-- empty field is NULL. `time` comes from `time_column` (or a column named
-- time), read with `time_format` or as epoch seconds / a timestamp TD
-- writes, or is `time_value` for every record.
local errors = require "td.errors"
local args = require "td.v3.args"
local tdtime = require "td.time"

local M = {}

local usage = args.usage
local tointeger, tonumber, mtype = math.tointeger, tonumber, math.type

local FORMATS = { csv = true, tsv = true, jsonl = true }
local EXT = { csv = "csv", tsv = "tsv", tab = "tsv", jsonl = "jsonl", ndjson = "jsonl", json = "jsonl" }
local TYPES = {
  string = "string", long = "long", int = "long", integer = "long", bigint = "long",
  double = "double", float = "double",
}
local DEFAULT_SAMPLE = 1000
local MAX_REPORTED = 100

local KNOWN = {
  format = true, columns = true, header = true, types = true, time_column = true,
  time_format = true, time_value = true, on_error = true, sample = true, all_string = true,
  delimiter = true, quote = true, escape = true, unique_id = true, chunk_size = true,
}

-- "123" / "-5" (int64) -> integer; nil otherwise
local function as_long(s)
  if not s:find("^[%+%-]?%d+$") then return nil end
  local v = tointeger(tonumber(s))
  if not v then return nil end
  return v
end

-- decimal numbers ("1.5", "-2", "3e10", ".5"); not hex, inf or nan
local function as_double(s)
  if not (s:find("^[%+%-]?%d+%.?%d*[eE][%+%-]?%d+$") or s:find("^[%+%-]?%d*%.?%d+[eE][%+%-]?%d+$")
    or s:find("^[%+%-]?%d+%.?%d*$") or s:find("^[%+%-]?%.%d+$")) then
    return nil
  end
  local v = tonumber(s)
  if v == nil then return nil end
  return v + 0.0
end

local CONVERT = {
  string = function(s) return s end,
  long = as_long,
  double = as_double,
}

--- The type of a column from sample values (strings; "" ignored), as
-- td import:auto guesses: long, else double, else string.
function M.infer(values)
  local long, double, any = true, true, false
  for _, s in ipairs(values) do
    if s ~= "" then
      any = true
      if long and not as_long(s) then long = false end
      if double and not long and not as_double(s) then double = false end
      if not long and not double then return "string" end
    end
  end
  if not any then return "string" end
  return long and "long" or "double"
end

-- The epoch seconds of a time value (a string from csv/tsv, or a decoded
-- JSON value), or nil and the reason.
local function time_of(v, fmt)
  if fmt then
    if fmt == "unixtime" or fmt == "epoch" then
      local n = type(v) == "number" and v or (type(v) == "string" and as_double(v))
      if not n or n % 1 ~= 0 then return nil, ("%s is not a unix time in seconds"):format(tostring(v)) end
      return tointeger(n)
    end
    if type(v) ~= "string" then return nil, ("%s is not text in the format %q"):format(tostring(v), fmt) end
    local t, why = tdtime.strptime(v, fmt)
    if not t then return nil, why end
    return math.floor(t)
  end
  if type(v) == "number" then
    if v % 1 ~= 0 then return math.floor(v) end
    return tointeger(v)
  end
  if type(v) ~= "string" or v == "" then return nil, "no time" end
  local n = as_long(v)
  if n then return n end
  local t = tdtime.parse(v)
  if type(t) ~= "number" then return nil, ("cannot read %q as a time (give time_format)"):format(v) end
  return math.floor(t)
end

local function format_of(path, o)
  local fmt = o.format
  if fmt == nil then
    local name = type(path) == "string" and path:lower() or ""
    fmt = EXT[name:match("%.(%w+)$") or ""]
    if not fmt then
      usage(("import_file: cannot tell the format of %s from its name: pass format = \"csv\", \"tsv\" or \"jsonl\"")
        :format(type(path) == "string" and path or "a handle"))
    end
  elseif not FORMATS[fmt] then
    usage(("import_file: format must be \"csv\", \"tsv\" or \"jsonl\" (got %s)"):format(tostring(fmt)))
  end
  return fmt
end

local function check_opts(o)
  args.fields("import_file", o, {
    columns = "table", header = "boolean", types = "table", time_column = "string",
    time_format = "string", time_value = "number", sample = "integer", all_string = "boolean",
    unique_id = "string", chunk_size = "integer",
  })
  local oe = o.on_error
  if oe ~= nil and oe ~= "stop" and oe ~= "skip" then
    usage(("import_file: on_error must be \"stop\" or \"skip\" (got %s)"):format(tostring(oe)))
  end
  if o.sample ~= nil and o.sample < 1 then usage("import_file: sample must be at least 1") end
  if o.time_value ~= nil and o.time_column ~= nil then
    usage("import_file: give time_column or time_value, not both")
  end
  local types = {}
  for col, ty in pairs(o.types or {}) do
    local t = type(ty) == "string" and TYPES[ty:lower()]
    if type(col) ~= "string" or not t then
      usage(("import_file: types.%s must be \"string\", \"long\" or \"double\" (got %s)"):format(tostring(col), tostring(ty)))
    end
    types[col] = t
  end
  return types
end

--- client:import_file(db, table, path, {format =, columns =, header =,
-- types =, time_column =, time_format =, time_value =, on_error = "stop",
-- sample = 1000, all_string =, delimiter =, quote =, escape =,
-- unique_id =, chunk_size =}) -> summary
-- Imports a file (a path, "-" for stdin, or a file handle) into an
-- existing table.
--   format: "csv", "tsv" or "jsonl"; by default from the name's extension
--     (.csv, .tsv/.tab, .jsonl/.ndjson/.json).
--   columns: the column names, for a csv/tsv file without a header line
--     (with header = true the file's header line is skipped instead).
--   types: { column = "string" | "long" | "double" }; columns not named
--     here are inferred from the first `sample` records (all_string = true:
--     every csv/tsv column is a string). JSON values keep their JSON type
--     unless named in types.
--   time_column: the column that gives each record's `time` (it stays a
--     column too); default: a column named time. time_format: a strptime
--     format ("%d/%m/%Y %H:%M", see td.time.strptime) or "unixtime";
--     without it an integer is epoch seconds and text is read like
--     "2026-11-22 10:00:00 UTC", RFC 3339 or a date. time_value: the
--     epoch seconds every record gets when the file has no time.
--   on_error: "stop" (default) raises a `bad_input` error naming the file
--     and the line (records before it are imported, in whole chunks, and
--     the error says how many); "skip" skips bad lines and reports them.
--   unique_id, chunk_size: as for client:import; running the same import
--     again with the same unique_id adds only what an earlier run did not.
-- Returns client:import's summary plus file, format, lines (records read),
-- skipped (bad lines skipped), bad (up to 100 of them: {line, reason}) and
-- types (column -> type used).
--   local sum = c:import_file("web", "events", "events.csv", { time_column = "created_at" })
function M:import_file(db, tbl, path, opts)
  args.name("import_file", "db", db)
  args.name("import_file", "table", tbl)
  if io.type(path) ~= "file" then args.name("import_file", "path", path) end
  local o = args.opts("import_file", opts, KNOWN)
  local types = check_opts(o)
  local fmt = format_of(path, o)
  local skip = o.on_error == "skip"
  local sample_n = o.sample or DEFAULT_SAMPLE

  local sum_extra = { file = type(path) == "string" and path or "(handle)", format = fmt,
    lines = 0, skipped = 0, bad = {} }
  local function on_bad(e)
    sum_extra.skipped = sum_extra.skipped + 1
    if #sum_extra.bad < MAX_REPORTED then
      sum_extra.bad[#sum_extra.bad + 1] = { line = e.line, reason = e.reason or e.message }
    end
  end
  -- the reader's bad lines: while sampling they are queued in order with
  -- the records (a line is reported after the lines before it)
  local sampling, pending_bad = true, nil
  local function on_error(e)
    if sampling then pending_bad(e)
    elseif skip then on_bad(e)
    else error(e, 0) end
  end

  -- source: next() -> raw record (column -> string or JSON value), line
  local nxt, close, name, cols
  if fmt == "jsonl" then
    if o.delimiter ~= nil or o.quote ~= nil or o.escape ~= nil then
      usage("import_file: delimiter, quote and escape apply to csv and tsv")
    end
    nxt, close, name = require("td.jsonl")._records_iter("import_file", path, { on_error = on_error })
  else
    local mod = require(fmt == "csv" and "td.csv" or "td.tsv")
    nxt, close, name, cols = mod._records_iter("import_file", path, {
      columns = o.columns, header = o.header, on_error = on_error,
      delimiter = o.delimiter, quote = o.quote, escape = o.escape,
    })
  end
  sum_extra.file = name

  local function bad(line, reason)
    local e = errors.new { kind = "bad_input", file = name, line = line, reason = reason,
      message = ("import_file: %s line %d: %s"):format(name, line, reason) }
    if not skip then error(e, 0) end
    on_bad(e)
  end

  local ok, sum = pcall(function()
    -- the sample: the first records, held to infer the types
    local buffered, lines_of = {}, {}
    pending_bad = function(e)
      buffered[#buffered + 1] = false
      lines_of[#buffered] = e
    end
    while #buffered < sample_n do
      local r, line = nxt()
      if r == nil then break end
      buffered[#buffered + 1] = r
      lines_of[#buffered] = line
    end
    sampling = false
    local sample = {}
    for _, r in ipairs(buffered) do
      if type(r) == "table" and r[1] == nil then sample[#sample + 1] = r end
    end

    local time_col = o.time_column
    if not time_col and o.time_value == nil then
      local has_time = false
      if cols then
        for _, c in ipairs(cols) do if c == "time" then has_time = true end end
      else
        for _, r in ipairs(sample) do if r.time ~= nil then has_time = true; break end end
      end
      if not has_time and (cols or #sample > 0) then
        usage(("import_file: %s has no time column: pass time_column = <column> or time_value = <epoch seconds>")
          :format(name))
      end
      time_col = "time"
    end
    if time_col and cols then
      local found = false
      for _, c in ipairs(cols) do if c == time_col then found = true end end
      if not found then
        usage(("import_file: time_column %q is not a column of %s (columns: %s)")
          :format(time_col, name, table.concat(cols, ", ")))
      end
    end

    -- the type of every csv/tsv column
    local conv = {}
    if cols then
      for _, c in ipairs(cols) do
        local ty = types[c]
        if not ty then
          if o.all_string then
            ty = "string"
          else
            local vals = {}
            for i, r in ipairs(sample) do vals[i] = r[c] end
            ty = M.infer(vals)
          end
        end
        types[c] = ty
        conv[#conv + 1] = { c, CONVERT[ty], ty }
      end
    else
      for c, ty in pairs(types) do conv[#conv + 1] = { c, CONVERT[ty], ty } end
    end
    sum_extra.types = types
    local time_value, time_format = o.time_value, o.time_format
    if time_value ~= nil then
      time_value = tointeger(time_value)
      if not time_value then usage("import_file: time_value must be whole epoch seconds") end
    end

    -- raw record -> TD record, or nil after reporting a bad line
    local NULL = require("td.core").null
    local function convert(r, line)
      local raw_time = time_col and r[time_col]
      if cols then
        local out = {}
        for i = 1, #conv do
          local cv = conv[i]
          local s = r[cv[1]]
          if s ~= "" then
            local v = cv[2](s)
            if v == nil then
              bad(line, ("column %s: %q is not a %s"):format(cv[1], s, cv[3]))
              return nil
            end
            out[cv[1]] = v
          end
        end
        r = out
      else
        for i = 1, #conv do
          local cv = conv[i]
          local v = r[cv[1]]
          if v ~= nil and v ~= NULL then
            local s = type(v) == "string" and v or tostring(v)
            local c = cv[2](s)
            if c == nil then
              bad(line, ("column %s: %s is not a %s"):format(cv[1], tostring(v), cv[3]))
              return nil
            end
            r[cv[1]] = c
          end
        end
      end
      if time_value then
        r.time = time_value
      else
        local t, why = time_of(raw_time, time_format)
        if not t then
          bad(line, ("column %s: %s"):format(time_col, why or "no time"))
          return nil
        end
        r.time = t
      end
      return r
    end

    local i = 0
    local function rows()
      while true do
        local r, line
        i = i + 1
        if i <= #buffered then
          r, line = buffered[i], lines_of[i]
          buffered[i], lines_of[i] = false, false
          if r == false then -- a bad line met while sampling
            on_error(line)
            r = nil
          end
        else
          r, line = nxt()
          if r == nil then return nil end
        end
        if r ~= nil and (type(r) ~= "table" or r[1] ~= nil) then
          bad(line, "a JSON object expected")
          r = nil
        end
        if r then
          local rec = convert(r, line)
          if rec then
            sum_extra.lines = sum_extra.lines + 1
            return rec
          end
        end
      end
    end
    return self:import(db, tbl, rows, { unique_id = o.unique_id, chunk_size = o.chunk_size })
  end)
  close()
  if not ok then
    if errors.is(sum) and sum.imported_records == nil then
      sum.imported_records, sum.imported_chunks = 0, 0
    end
    if errors.is(sum, "bad_input") then
      sum.skipped = sum_extra.skipped
      local n = sum.imported_records or 0
      sum.message = sum.message .. (n > 0 and (" (the %d records in the %d chunks before it were imported)")
        :format(n, sum.imported_chunks) or " (nothing was imported)")
    end
    error(sum, 0)
  end
  for k, v in pairs(sum_extra) do sum[k] = v end
  if sum.skipped > 0 then
    require("td.log").warn("import_file: %s: skipped %d bad line%s (first: line %d: %s)", name, sum.skipped,
      sum.skipped == 1 and "" or "s", sum.bad[1].line, sum.bad[1].reason)
  end
  return sum
end

return M
