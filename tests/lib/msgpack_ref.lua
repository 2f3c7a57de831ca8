--- msgpack_ref: a small msgpack reference in plain Lua for property tests:
-- a decoder with the C decoder's documented mapping (td.core.decoder), an
-- encoder that picks any valid encoding of a value, and random values.
--   ref.decode(bytes) -> array of top-level values (raises on bad input)
--   ref.encode(v, rnd) -> bytes; rnd(n) picks among encodings (optional)
--   ref.random_value(rnd, depth) -> a random Lua value the encoder takes
local M = {}

local null = td and td.null or require("cjson").null
local unpack = string.unpack

local function decoder(s)
  local pos = 1
  local value
  local function take(n)
    if pos + n - 1 > #s then error("truncated") end
    local r = s:sub(pos, pos + n - 1)
    pos = pos + n
    return r
  end
  local function u(n) return (unpack(">I" .. n, take(n))) end
  local function ext(t, data)
    if t == -1 and (#data == 4 or #data == 8 or #data == 12) then
      if #data == 4 then return (unpack(">I4", data)) end
      if #data == 8 then
        local v = unpack(">I8", data)
        local nsec, sec = v >> 34, v & 0x3ffffffff
        if nsec == 0 then return sec end
        return sec + nsec / 1e9
      end
      local nsec, sec = unpack(">I4i8", data)
      if nsec == 0 then return sec end
      return sec + nsec / 1e9
    end
    return data
  end
  local function array(n)
    local t = {}
    for i = 1, n do t[i] = value(true) end
    return t
  end
  local function map(n)
    local t = {}
    for _ = 1, n do
      local k = value(false)
      if k == nil then error("nil key") end
      if k ~= k then error("NaN key") end
      t[k] = value(true)
    end
    return t
  end
  value = function(nullv)
    local c = take(1):byte()
    if c <= 0x7f then return c end
    if c >= 0xe0 then return c - 256 end
    if c >= 0xa0 and c <= 0xbf then return take(c & 0x1f) end
    if c >= 0x90 and c <= 0x9f then return array(c & 0x0f) end
    if c >= 0x80 and c <= 0x8f then return map(c & 0x0f) end
    if c == 0xc0 then if nullv then return null end return nil end
    if c == 0xc2 then return false end
    if c == 0xc3 then return true end
    if c == 0xc4 then return take(u(1)) end
    if c == 0xc5 then return take(u(2)) end
    if c == 0xc6 then return take(u(4)) end
    if c >= 0xc7 and c <= 0xc9 then
      local w = c == 0xc7 and 1 or c == 0xc8 and 2 or 4
      local n = u(w)
      local t = unpack(">i1", take(1))
      return ext(t, take(n))
    end
    if c >= 0xd4 and c <= 0xd8 then
      local t = unpack(">i1", take(1))
      return ext(t, take(1 << (c - 0xd4)))
    end
    if c == 0xca then return (unpack(">f", take(4))) end
    if c == 0xcb then return (unpack(">d", take(8))) end
    if c == 0xcc then return u(1) end
    if c == 0xcd then return u(2) end
    if c == 0xce then return u(4) end
    if c == 0xcf then
      local v = unpack(">I8", take(8))
      if v < 0 then return ("%u"):format(v) end -- beyond int64: decimal string
      return v
    end
    if c == 0xd0 then return (unpack(">i1", take(1))) end
    if c == 0xd1 then return (unpack(">i2", take(2))) end
    if c == 0xd2 then return (unpack(">i4", take(4))) end
    if c == 0xd3 then return (unpack(">i8", take(8))) end
    if c == 0xd9 then return take(u(1)) end
    if c == 0xda then return take(u(2)) end
    if c == 0xdb then return take(u(4)) end
    if c == 0xdc then return array(u(2)) end
    if c == 0xdd then return array(u(4)) end
    if c == 0xde then return map(u(2)) end
    if c == 0xdf then return map(u(4)) end
    error(("invalid byte 0x%02x"):format(c))
  end
  return function()
    if pos > #s then return nil end
    return value(true)
  end
end

function M.decode(s)
  local out = {}
  for v in decoder(s) do out[#out + 1] = v end
  return out
end

local pack = string.pack

local function pick(rnd, n) return rnd and rnd(n) or 1 end

local function enc_int(v, rnd)
  local forms = {}
  if v >= 0 and v <= 0x7f then forms[#forms + 1] = string.char(v) end
  if v >= -32 and v < 0 then forms[#forms + 1] = string.char(v + 256) end
  if v >= 0 and v <= 0xff then forms[#forms + 1] = "\xcc" .. pack(">I1", v) end
  if v >= 0 and v <= 0xffff then forms[#forms + 1] = "\xcd" .. pack(">I2", v) end
  if v >= 0 and v <= 0xffffffff then forms[#forms + 1] = "\xce" .. pack(">I4", v) end
  if v >= 0 then forms[#forms + 1] = "\xcf" .. pack(">i8", v) end
  if v >= -128 and v <= 127 then forms[#forms + 1] = "\xd0" .. pack(">i1", v) end
  if v >= -32768 and v <= 32767 then forms[#forms + 1] = "\xd1" .. pack(">i2", v) end
  if v >= -2147483648 and v <= 2147483647 then forms[#forms + 1] = "\xd2" .. pack(">i4", v) end
  forms[#forms + 1] = "\xd3" .. pack(">i8", v)
  return forms[pick(rnd, #forms)]
end

local function enc_str(s, rnd, bin)
  local n = #s
  local forms = {}
  if bin then
    if n <= 0xff then forms[#forms + 1] = "\xc4" .. pack(">I1", n) end
    if n <= 0xffff then forms[#forms + 1] = "\xc5" .. pack(">I2", n) end
    forms[#forms + 1] = "\xc6" .. pack(">I4", n)
  else
    if n <= 31 then forms[#forms + 1] = string.char(0xa0 + n) end
    if n <= 0xff then forms[#forms + 1] = "\xd9" .. pack(">I1", n) end
    if n <= 0xffff then forms[#forms + 1] = "\xda" .. pack(">I2", n) end
    forms[#forms + 1] = "\xdb" .. pack(">I4", n)
  end
  return forms[pick(rnd, #forms)] .. s
end

local function enc_len(n, small, base16, base32, rnd)
  local forms = {}
  if n <= 15 then forms[#forms + 1] = string.char(small + n) end
  if n <= 0xffff then forms[#forms + 1] = base16 .. pack(">I2", n) end
  forms[#forms + 1] = base32 .. pack(">I4", n)
  return forms[pick(rnd, #forms)]
end

--- Encode v (nil or td.null -> nil; integers, floats, strings, booleans,
-- arrays (tables with 1..n), maps (other tables)).
function M.encode(v, rnd)
  local ty = type(v)
  if v == nil or v == null then return "\xc0" end
  if ty == "boolean" then return v and "\xc3" or "\xc2" end
  if math.type(v) == "integer" then return enc_int(v, rnd) end
  if ty == "number" then return "\xcb" .. pack(">d", v) end
  if ty == "string" then return enc_str(v, rnd) end
  if ty == "table" then
    local n = #v
    local is_array = true
    for k in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > n then is_array = false break end
    end
    local out = {}
    if is_array then
      out[1] = enc_len(n, 0x90, "\xdc", "\xdd", rnd)
      for i = 1, n do out[#out + 1] = M.encode(v[i], rnd) end
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      out[1] = enc_len(#keys, 0x80, "\xde", "\xdf", rnd)
      for _, k in ipairs(keys) do out[#out + 1] = M.encode(k, rnd) .. M.encode(v[k], rnd) end
    end
    return table.concat(out)
  end
  error("cannot encode a " .. ty)
end

--- A binary value: M.bin(s) encodes as msgpack bin (decodes to the string).
function M.bin(s, rnd) return enc_str(s, rnd, true) end

local SAMPLES = { "", "a", "comma, here", 'quote " here', "tab\there", "line\nbreak", "cr\rhere",
  "back\\slash", "café", "日本語", "\xff\xfe bad utf8", "\0nul", "=cmd", ("x"):rep(40) }
local FLOATS = { 0.0, -0.0, 1.5, -2.25, 1e300, -1e-300, 3.141592653589793, 0.1, 1e16, 123456789.125,
  math.huge, -math.huge, 2^53, 5e-324 }

--- A random value: scalars, strings with separators and invalid UTF-8,
-- nulls, nested arrays and maps (depth-limited).
function M.random_value(rnd, depth)
  depth = depth or 0
  local k = rnd(depth < 3 and 10 or 8)
  if k == 1 then return null
  elseif k == 2 then return rnd(2) == 1
  elseif k == 3 then
    local choices = { 0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -129, -32769,
      2147483647, -2147483648, 4294967295, 4294967296, math.maxinteger, math.mininteger }
    return rnd(3) == 1 and (rnd(2000001) - 1000001) or choices[rnd(#choices)]
  elseif k == 4 then return FLOATS[rnd(#FLOATS)]
  elseif k <= 8 then
    local s = SAMPLES[rnd(#SAMPLES)]
    if rnd(4) == 1 then s = s .. string.char(rnd(256) - 1) end
    return s
  elseif k == 9 then
    local t = {}
    for i = 1, rnd(4) - 1 do t[i] = M.random_value(rnd, depth + 1) end
    return t
  else
    local t = {}
    for _ = 1, rnd(3) do t["k" .. rnd(5)] = M.random_value(rnd, depth + 1) end
    return t
  end
end

return M
