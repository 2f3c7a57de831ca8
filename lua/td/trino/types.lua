--- td.trino.types: values of the Trino client protocol as Lua values.
-- A page of the protocol is JSON; a value's meaning comes from its
-- column's type (the `type` text of the column metadata, such as
-- "array(row(k varchar, v map(varchar, array(bigint))))"). The rules, the
-- same as for job results where both have the type:
--   * bigint, integer, smallint, tinyint: Lua integers, exact over the
--     whole int64 range (pages are decoded by td.core.json_decode, which
--     reads integers exactly); a value beyond int64 stays a decimal
--     string, as in job results.
--   * double, real: Lua floats; "NaN", "Infinity", "-Infinity" (how Trino
--     sends them) become 0/0, math.huge, -math.huge.
--   * varchar, char, decimal, date, time, timestamp (with or without time
--     zone), interval, json, uuid, ipaddress: strings, as Trino prints them
--     ("2026-11-22 10:00:00.123", "12345.67").
--   * boolean: Lua booleans. varbinary: the bytes (Trino sends base64).
--   * array(T): arrays; map(K, V): tables keyed by K's values (a bigint
--     key is an integer); row(a T, b U): tables keyed by field name (a
--     field without a name keeps its position).
--   * SQL NULL anywhere is td.null.
local core = require "td.core"

local M = {}

local find, sub, byte, gsub, match = string.find, string.sub, string.byte, string.gsub, string.match
local concat = table.concat
local tointeger, tonumber, mtype = math.tointeger, tonumber, math.type
local NULL = core.null

-- ---------------------------------------------------------------------------
-- decoding a page

local json_decode = require("td.core").json_decode

--- Decode one page of the protocol: a table, or nil and a message. The
-- decoder is td.core.json_decode (as td.json's): integers stay exact.
function M.decode(body)
  local data, err, pos = json_decode(body)
  if type(data) ~= "table" then
    return nil, err and ("%s at byte %d"):format(err, pos) or "not a JSON object"
  end
  return data
end

-- ---------------------------------------------------------------------------
-- types

--- Parse a Trino type text ("array(row(k varchar, v map(varchar, bigint)))")
-- into { base = "array", args = { type, ... } }; a row's fields carry
-- `field` (their name, quotes removed). Numeric parameters (varchar(20),
-- decimal(10,2)) are skipped. parse(text) -> type.
local function parse(s)
  local pos = 1
  local function skip() pos = find(s, "[^%s]", pos) or #s + 1 end
  local parse_type
  local function ident()
    skip()
    if sub(s, pos, pos) == '"' then
      local e = find(s, '"', pos + 1, true) or #s
      local name = sub(s, pos + 1, e - 1)
      pos = e + 1
      return name
    end
    local a, b = find(s, "^[%w_]+", pos)
    if not a then return nil end
    pos = b + 1
    return sub(s, a, b)
  end
  parse_type = function(in_row)
    skip()
    local t = { args = {} }
    if in_row then
      -- "name type" or just "type": a field name is followed by another word
      local save = pos
      local name = ident()
      skip()
      local c = sub(s, pos, pos)
      if name and c ~= "" and c ~= "," and c ~= ")" and c ~= "(" then
        t.field = name
      else
        pos = save
      end
      skip()
    end
    local words = {}
    while true do
      skip()
      local a, b = find(s, "^[%a_][%w_]*", pos)
      if not a then break end
      words[#words + 1] = sub(s, a, b):lower()
      pos = b + 1
      skip()
      if sub(s, pos, pos) == "(" then
        pos = pos + 1
        local row = words[1] == "row"
        repeat
          skip()
          if find(s, "^%-?%d", pos) then
            local _, e = find(s, "^%-?%d+", pos)
            pos = e + 1
          else
            t.args[#t.args + 1] = parse_type(row)
          end
          skip()
          local c = sub(s, pos, pos)
          pos = pos + 1
        until c ~= ","
      end
    end
    t.base = words[1] or "unknown"
    return t
  end
  return parse_type(false)
end
M.parse = parse

local INTEGER = { bigint = true, integer = true, int = true, smallint = true, tinyint = true }
local FLOAT = { double = true, real = true }
local SPECIAL = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }

local DEC = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, 64 do DEC[byte(alphabet, i)] = i - 1 end
  DEC[byte("-")], DEC[byte("_")] = 62, 63
end

--- The bytes of a base64 text (standard or URL alphabet, padding optional).
function M.unbase64(s)
  s = gsub(s, "[%s=]", "")
  local out, n = {}, 0
  local char = string.char
  for i = 1, #s, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    a, b, c, d = DEC[a], DEC[b], c and DEC[c], d and DEC[d]
    if not a or not b then break end
    local v = (a << 18) | (b << 12) | ((c or 0) << 6) | (d or 0)
    n = n + 1
    if d then out[n] = char(v >> 16, (v >> 8) & 255, v & 255)
    elseif c then out[n] = char(v >> 16, (v >> 8) & 255)
    else out[n] = char(v >> 16) end
  end
  return concat(out)
end
local unbase64 = M.unbase64

local function to_integer(v)
  if mtype(v) == "float" then return tointeger(v) or v end
  if type(v) == "string" then
    local i = tointeger(tonumber(v))
    if i and match(v, "^%-?%d+$") then return i end
  end
  return v
end

local function to_float(v)
  if type(v) == "string" then
    local x = SPECIAL[v]
    if x then return x end
  elseif mtype(v) == "integer" then
    return v + 0.0
  end
  return v
end

-- A converter for values of type t (nil when values stay as decoded).
local function converter(t)
  local base = t.base
  if INTEGER[base] then return to_integer end
  if FLOAT[base] then return to_float end
  if base == "varbinary" then
    return function(v) if type(v) == "string" then return unbase64(v) end return v end
  end
  if base == "array" then
    local el = t.args[1] and converter(t.args[1])
    if not el then return nil end
    return function(v)
      if type(v) ~= "table" then return v end
      for i = 1, #v do
        local x = v[i]
        if x ~= NULL then v[i] = el(x) end
      end
      return v
    end
  end
  if base == "map" then
    local kt, vt = t.args[1], t.args[2]
    local kc = kt and (INTEGER[kt.base] and to_integer or FLOAT[kt.base] and tonumber or nil)
    local vc = vt and converter(vt)
    if not kc and not vc then return nil end
    return function(v)
      if type(v) ~= "table" then return v end
      local out = {}
      for k, x in pairs(v) do
        if kc then k = kc(k) or k end
        if vc and x ~= NULL then x = vc(x) end
        out[k] = x
      end
      return out
    end
  end
  if base == "row" then
    local fields, convs = {}, {}
    for i, a in ipairs(t.args) do
      fields[i] = a.field or i
      convs[i] = converter(a) or false
    end
    local n = #fields
    return function(v)
      if type(v) ~= "table" or (v[1] == nil and next(v) ~= nil) then return v end -- already keyed
      local out = {}
      for i = 1, n do
        local x = v[i]
        if x == nil then x = NULL end
        local c = convs[i]
        if c and x ~= NULL then x = c(x) end
        out[fields[i]] = x
      end
      return out
    end
  end
  return nil
end

--- Converters for a page's column metadata ({ {name=, type=}, ... }):
-- returns the schema as job results have it ({ {name, type}, ... }), the
-- column names, and a function(row) that turns a decoded row into Lua
-- values in place (nil when no column needs converting).
function M.columns(cols)
  local schema, names, idx, fns = {}, {}, {}, {}
  for i, col in ipairs(cols) do
    local name = type(col) == "table" and col.name or nil
    local tt = type(col) == "table" and col.type or nil
    names[i] = type(name) == "string" and name or ("_col" .. (i - 1))
    schema[i] = { names[i], type(tt) == "string" and tt or "unknown" }
    local fn = type(tt) == "string" and converter(parse(tt)) or nil
    if fn then
      idx[#idx + 1] = i
      fns[#fns + 1] = fn
    end
  end
  local n = #idx
  local convert
  if n > 0 then
    convert = function(row)
      for k = 1, n do
        local i = idx[k]
        local v = row[i]
        if v ~= nil and v ~= NULL then row[i] = fns[k](v) end
      end
      return row
    end
  end
  return schema, names, convert
end

return M
