-- tests/lib/formats_oracle.lua - the reference text formats, all in Lua.
-- The result text formats are implemented once, in C (td.core.textwriter
-- behind td.v3.formats.writer); this is the test oracle they are checked
-- against byte for byte (tests/test_textout.lua), written from the rules
-- in docs/results.md:
-- The same rules for every format (see docs/results.md):
--   * SQL NULL (td.null) is an empty field in csv/tsv and `null` in json.
--   * Booleans are true/false. Integers are written as they are; floats in
--     the shortest form that reads back to the same double, laid out as
--     Python's repr does ("1.5", "3.0", "1e+300"); NaN and infinities are
--     NaN, Infinity, -Infinity (JSON strings in json, which has no such
--     numbers).
--   * Nested arrays and maps are JSON text in csv/tsv; map keys are sorted.
--     An empty nested table is [] unless its column is a map type.
--   * A column typed varbinary/binary is written base64 (as TD does).
--     Integers beyond int64 (they arrive as decimal strings) are numbers
--     in json when the column has an integer type.
--   * Strings are written as their bytes in csv/tsv, even when they are
--     not valid UTF-8. In json every byte that is not part of a valid
--     UTF-8 sequence becomes U+FFFD, so the output is always valid JSON.
--   * csv: RFC 4180; a field is quoted when it holds a comma, a double
--     quote, CR or LF, and quotes are doubled; lines end with "\n". A row
--     made of one empty field is written as "" so it is not a blank line.
--   * tsv: backslash escapes for \\, \t, \n and \r.
--   * jsonl: one JSON array per row and line (header: the column names as
--     the first line); json: one JSON array holding those rows, one per line.
--     objects = true writes each row as an object keyed by column name.
-- oracle.writer(fmt, sink, columns, opts) has the interface of
-- td.v3.formats.writer; oracle.float, base64, json, ... are its pieces.
local M = {}

local byte, char, find, format, gsub, sub, rep = string.byte, string.char, string.find, string.format,
  string.gsub, string.sub, string.rep
local concat, sort = table.concat, table.sort
local mtype, huge = math.type, math.huge
local utf8len = utf8.len
local core = require "td.core"
local NULL = core.null

M.FORMATS = { csv = true, tsv = true, json = true, jsonl = true, ["msgpack.gz"] = true }

-- --------------------------------------------------------------------------
-- numbers

local function relayout(neg, digits, exp10)
  -- digits: significant digits without leading/trailing zeros; the value is
  -- d.ddd x 10^exp10. Fixed notation for -4 <= exp10 < 16, else scientific.
  local s
  if exp10 >= -4 and exp10 < 16 then
    if exp10 >= 0 then
      local int = sub(digits, 1, exp10 + 1)
      if #int < exp10 + 1 then int = int .. rep("0", exp10 + 1 - #int) end
      local frac = sub(digits, exp10 + 2)
      s = int .. "." .. (frac == "" and "0" or frac)
    else
      s = "0." .. rep("0", -exp10 - 1) .. digits
    end
  else
    s = sub(digits, 1, 1) .. (#digits > 1 and ("." .. sub(digits, 2)) or "")
      .. format("e%s%02d", exp10 < 0 and "-" or "+", exp10 < 0 and -exp10 or exp10)
  end
  return neg and ("-" .. s) or s
end

--- The text of a float: the shortest decimal that reads back to the same
-- double, laid out like Python's repr ("0.1", "3.0", "-0.0", "1e+16").
function M.float(v)
  if v % 1 == 0 and v > -1e16 and v < 1e16 then return format("%.1f", v) end -- integral (also -0.0)
  if v ~= v then return "NaN" end
  if v == huge then return "Infinity" end
  if v == -huge then return "-Infinity" end
  local s
  if v > -2.2250738585072014e-308 and v < 2.2250738585072014e-308 and v ~= 0 then
    for p = 1, 17 do -- subnormal: few significant bits, search from 1 digit
      s = format("%." .. p .. "g", v)
      if tonumber(s) == v then break end
    end
  else
    s = format("%.15g", v)
    if tonumber(s) ~= v then
      s = format("%.16g", v)
      if tonumber(s) ~= v then s = format("%.17g", v) end
    end
  end
  if not find(s, "e", 1, true) then
    local dot = find(s, ".", 1, true)
    if dot then return s end -- fixed with a fraction: -4 <= exponent < 15
    local len = byte(s) == 45 and #s - 1 or #s
    if len <= 16 then return s .. ".0" end
  end
  -- scientific from %g, or 17 integral digits: rebuild the layout
  local neg = byte(s) == 45
  local m, e = s:match("^%-?([%d%.]+)e([%+%-]%d+)$")
  local digits, exp10
  if m then
    local int, frac = m:match("^(%d+)%.?(%d*)$")
    digits, exp10 = int .. frac, tonumber(e) + #int - 1
  else
    m = neg and sub(s, 2) or s
    digits, exp10 = m, #m - 1
  end
  digits = digits:gsub("0+$", "")
  if digits == "" then digits = "0" end
  return relayout(neg, digits, exp10)
end
local float = M.float

-- --------------------------------------------------------------------------
-- base64 and UTF-8

local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 0, 63 do B64[i] = sub(alphabet, i + 1, i + 1) end
end

--- Standard base64 (with padding) of a byte string.
function M.base64(s)
  local out, n = {}, 0
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = (a << 16) | ((b or 0) << 8) | (c or 0)
    n = n + 1
    out[n] = B64[v >> 18] .. B64[(v >> 12) & 63]
      .. (b and B64[(v >> 6) & 63] or "=") .. (c and B64[v & 63] or "=")
  end
  return concat(out)
end
local base64 = M.base64

--- s with every byte that is not part of a valid UTF-8 sequence replaced
-- by U+FFFD (valid strings are returned as they are).
function M.valid_utf8(s)
  if utf8len(s) then return s end
  local out, i = {}, 1
  while true do
    local ok, bad = utf8len(s, i)
    if ok then
      out[#out + 1] = sub(s, i)
      break
    end
    out[#out + 1] = sub(s, i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return concat(out)
end
local valid_utf8 = M.valid_utf8

-- --------------------------------------------------------------------------
-- JSON

local JESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\b"] = "\\b", ["\f"] = "\\f" }
for i = 0, 31 do
  local c = char(i)
  if not JESC[c] then JESC[c] = format("\\u%04x", i) end
end

local function jstring(s)
  if not utf8len(s) then s = valid_utf8(s) end
  if find(s, '[%z\1-\31"\\]') then s = gsub(s, '[%z\1-\31"\\]', JESC) end
  return '"' .. s .. '"'
end
M.json_string = jstring

local jvalue

local function jnumber(v)
  if mtype(v) == "integer" then return format("%d", v) end
  if v ~= v or v == huge or v == -huge then return '"' .. float(v) .. '"' end
  return float(v)
end

-- 1..n and nothing else (a decoded msgpack array; NULL elements are td.null)
local function is_array(t)
  local n = #t
  return n > 0 and next(t, n) == nil
end

local function key_text(k)
  local tk = type(k)
  if tk == "string" then return k end
  if tk == "number" then return mtype(k) == "integer" and format("%d", k) or float(k) end
  return tostring(k)
end

local function jtable(t, depth, as_map)
  if depth > 64 then error("value nested too deeply for JSON", 0) end
  if next(t) == nil then return as_map and "{}" or "[]" end
  local parts = {}
  if not as_map and is_array(t) then
    for i = 1, #t do
      local v = t[i]
      local tv = type(v)
      if tv == "string" then parts[i] = jstring(v)
      elseif tv == "number" and mtype(v) == "integer" then parts[i] = v
      else parts[i] = jvalue(v, depth + 1) end
    end
    return "[" .. concat(parts, ", ") .. "]"
  end
  local keys, texts = {}, {}
  for k in pairs(t) do
    local kt = key_text(k)
    keys[#keys + 1] = kt
    texts[kt] = k
  end
  sort(keys)
  for i, kt in ipairs(keys) do
    parts[i] = jstring(kt) .. ": " .. jvalue(t[texts[kt]], depth + 1)
  end
  return "{" .. concat(parts, ", ") .. "}"
end

jvalue = function(v, depth)
  local tv = type(v)
  if tv == "string" then return jstring(v) end
  if tv == "number" then return jnumber(v) end
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "table" then return jtable(v, depth or 0) end
  if v == NULL or v == nil then return "null" end
  return jstring(tostring(v))
end

--- JSON text of a result value (td.null is null; tables are arrays or
-- maps with sorted keys; ", " and ": " separators).
function M.json(v) return jvalue(v, 0) end

-- column kinds and names: the module's own (one source of truth)
local formats = require "td.v3.formats"
M.kind = formats.kind

-- --------------------------------------------------------------------------
-- cells

-- The text of a value in csv/tsv, before quoting or escaping.
local function text(v, kind)
  local tv = type(v)
  if tv == "string" then
    if kind == "bin" then return base64(v) end
    return v
  end
  if tv == "number" then
    if mtype(v) == "integer" then return format("%d", v) end
    return float(v)
  end
  if v == NULL or v == nil then return "" end
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "table" then return jtable(v, 0, kind == "map") end
  return tostring(v)
end
M.text = text

local function json_cell(v, kind)
  local tv = type(v)
  if tv == "string" then
    if kind == "bin" then return '"' .. base64(v) .. '"' end
    if kind == "int" and find(v, "^%-?%d+$") then return v end
    return jstring(v)
  end
  if tv == "number" then return jnumber(v) end
  if v == NULL or v == nil then return "null" end
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "table" then return jtable(v, 0, kind == "map") end
  return jstring(tostring(v))
end

local function csv_field(s)
  if find(s, '[,"\r\n]') then return '"' .. gsub(s, '"', '""') .. '"' end
  return s
end
M.csv_field = csv_field

local TESC = { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }
local function tsv_field(s)
  if find(s, "[\\\t\n\r]") then return (gsub(s, "[\\\t\n\r]", TESC)) end
  return s
end
M.tsv_field = tsv_field

-- --------------------------------------------------------------------------
-- line builders: each returns a function(row) -> one line with its "\n"

-- Integers go into the cells as they are: table.concat writes them in C.
local function csv_line(kinds)
  local cells = {}
  return function(row)
    local n = #row
    for i = 1, n do
      local v = row[i]
      local tv = type(v)
      if tv == "string" then
        if kinds[i] == "bin" then v = base64(v)
        elseif find(v, '[,"\r\n]') then v = '"' .. gsub(v, '"', '""') .. '"' end
      elseif tv == "number" then
        if mtype(v) == "float" then v = float(v) end
      elseif v == NULL then
        v = ""
      elseif tv == "boolean" then
        v = v and "true" or "false"
      else
        v = text(v, kinds[i])
        if find(v, '[,"\r\n]') then v = '"' .. gsub(v, '"', '""') .. '"' end
      end
      cells[i] = v
    end
    if n == 1 and cells[1] == "" then return '""\n' end
    return concat(cells, ",", 1, n) .. "\n"
  end
end

local function tsv_line(kinds)
  local cells = {}
  return function(row)
    local n = #row
    for i = 1, n do
      local v = row[i]
      local tv = type(v)
      if tv == "string" then
        if kinds[i] == "bin" then v = base64(v)
        elseif find(v, "[\\\t\n\r]") then v = gsub(v, "[\\\t\n\r]", TESC) end
      elseif tv == "number" then
        if mtype(v) == "float" then v = float(v) end
      elseif v == NULL then
        v = ""
      elseif tv == "boolean" then
        v = v and "true" or "false"
      else
        v = text(v, kinds[i])
        if find(v, "[\\\t\n\r]") then v = gsub(v, "[\\\t\n\r]", TESC) end
      end
      cells[i] = v
    end
    return concat(cells, "\t", 1, n) .. "\n"
  end
end

local function json_array_text(kinds)
  local cells = {}
  return function(row)
    local n = #row
    for i = 1, n do
      local v = row[i]
      if mtype(v) == "integer" then cells[i] = v else cells[i] = json_cell(v, kinds[i]) end
    end
    return "[" .. concat(cells, ", ", 1, n) .. "]"
  end
end

local function json_object_text(kinds, names)
  local cells, keys = {}, {}
  for i, name in ipairs(names) do keys[i] = jstring(name) .. ": " end
  return function(row)
    local n = #row
    for i = 1, n do
      cells[i] = (keys[i] or (jstring("_col" .. (i - 1)) .. ": ")) .. json_cell(row[i], kinds[i])
    end
    return "{" .. concat(cells, ", ", 1, n) .. "}"
  end
end

-- --------------------------------------------------------------------------
-- writers

local column_info = formats.columns

local Writer = {}
Writer.__index = Writer

--- The reference writer, all in Lua: the same output as formats.writer.
function M.writer(fmt, sink, columns, opts)
  opts = opts or {}
  local names, kinds = column_info(columns)
  local w = setmetatable({ sink = sink, rows = 0, fmt = fmt, first = true }, Writer)
  local header = opts.header and #names > 0
  if fmt == "csv" then
    w.line = csv_line(kinds)
    if header then
      local cells = {}
      for i, name in ipairs(names) do cells[i] = csv_field(name) end
      sink(concat(cells, ",") .. "\n")
    end
  elseif fmt == "tsv" then
    w.line = tsv_line(kinds)
    if header then
      local cells = {}
      for i, name in ipairs(names) do cells[i] = tsv_field(name) end
      sink(concat(cells, "\t") .. "\n")
    end
  elseif fmt == "jsonl" or fmt == "json" then
    local body = opts.objects and json_object_text(kinds, names) or json_array_text(kinds)
    local head
    if header and not opts.objects then
      local cells = {}
      for i, name in ipairs(names) do cells[i] = jstring(name) end
      head = "[" .. concat(cells, ", ") .. "]"
    end
    if fmt == "jsonl" then
      w.line = function(row) return body(row) .. "\n" end
      if head then sink(head .. "\n") end
    else
      -- one JSON array: "[\n" row (",\n" row)* "\n]\n"
      local first = true
      if head then
        sink("[\n" .. head)
        first = false
      end
      w.line = function(row)
        local s = body(row)
        if first then
          first = false
          return "[\n" .. s
        end
        return ",\n" .. s
      end
      w.close = function() return first and "[]\n" or "\n]\n" end
    end
  else
    error("unknown format " .. tostring(fmt), 2)
  end
  return w
end

function Writer:row(row)
  self.sink(self.line(row))
  self.rows = self.rows + 1
end

function Writer:finish()
  if self.close then self.sink(self.close()) end
end

return M
