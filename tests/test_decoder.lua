-- the C msgpack/gzip decoder and the zlib helpers
local t = require "testlib"
local test, eq, like = t.test, t.eq, t.like
local core = require "td.core"

local function arr(n) return string.char(0x90 + n) end
local function str(s) return string.char(0xa0 + #s) .. s end

local function decode_all(bytes, opts)
  local d = core.decoder(opts or {})
  d:feed(bytes)
  local out = {}
  while true do
    local v = d:next()
    if v == nil then break end
    out[#out + 1] = v
  end
  return out, d
end

test("scalars, strings, nested arrays and maps decode", function()
  local bytes = arr(6) .. "\x01" .. "\xff" .. str("hi") .. "\xc3" .. "\xcb" .. string.pack(">d", 1.5)
    .. arr(2) .. "\x02" .. "\x81" .. str("k") .. str("v")
  local rows = decode_all(bytes)
  eq(#rows, 1)
  eq(rows[1], { 1, -1, "hi", true, 1.5, { 2, { k = "v" } } })
end)

test("integer edges: int64, uint64 beyond int64 kept as a decimal string", function()
  local bytes = arr(4) .. "\xd3" .. string.pack(">i8", math.mininteger) .. "\xcf" .. string.pack(">I8", math.maxinteger)
    .. "\xcf" .. "\xff\xff\xff\xff\xff\xff\xff\xff" .. "\xd0\x80"
  local rows = decode_all(bytes)
  eq(rows[1], { math.mininteger, math.maxinteger, "18446744073709551615", -128 })
  eq(math.type(rows[1][1]), "integer")
end)

test("nil is td.null inside rows and absent in records", function()
  local bytes = arr(3) .. "\x01" .. "\xc0" .. str("x")
  local rows = decode_all(bytes)
  eq(#rows[1], 3)
  eq(rows[1][2], td.null)
  local recs = decode_all(bytes, { keys = { "a", "b", "c" } })
  eq(recs[1], { a = 1, c = "x" })
end)

test("records keep extra columns under their index", function()
  local recs = decode_all(arr(2) .. "\x01\x02", { keys = { "a" } })
  eq(recs[1], { a = 1, [2] = 2 })
end)

test("bin, str16, array16 and float32", function()
  local long = ("x"):rep(300)
  local bytes = "\xdc\x00\x03" .. "\xc4\x03abc" .. "\xda" .. string.pack(">I2", 300) .. long .. "\xca" .. string.pack(">f", 0.5)
  eq(decode_all(bytes)[1], { "abc", long, 0.5 })
end)

test("a row split at any byte boundary decodes once", function()
  local row = arr(3) .. "\xcd\x01\x00" .. str("hello") .. "\xcb" .. string.pack(">d", 2.25)
  local bytes = row .. row
  for cut = 1, #bytes - 1 do
    local d = core.decoder {}
    local got = {}
    d:feed(bytes:sub(1, cut))
    while true do local v = d:next() if v == nil then break end got[#got + 1] = v end
    d:feed(bytes:sub(cut + 1))
    while true do local v = d:next() if v == nil then break end got[#got + 1] = v end
    eq(#got, 2, "cut at " .. cut)
    eq(got[2], { 256, "hello", 2.25 })
  end
end)

test("invalid msgpack raises a clear error", function()
  local d = core.decoder {}
  d:feed("\xc1")
  like(tostring(t.raises(d.next, d)), "malformed result stream")
end)

test("absurd lengths wait for data instead of allocating", function()
  local d = core.decoder {}
  d:feed("\xdd\xff\xff\xff\xff")
  eq(d:next(), nil)
end)

test("deep nesting is refused", function()
  local d = core.decoder {}
  d:feed(("\x91"):rep(200) .. "\x01")
  like(tostring(t.raises(d.next, d)), "nested too deeply")
end)

test("gzip and gunzip round trip, multi-member gunzip, bad data raises", function()
  local s = ("tdlua "):rep(10000)
  local z = core.gzip(s)
  t.ok(#z < #s / 10)
  eq(core.gunzip(z), s)
  eq(core.gunzip(core.gzip("a") .. core.gzip("b")), "ab")
  like(tostring(t.raises(core.gunzip, "not gzip")), "gzip")
  like(tostring(t.raises(core.gunzip, z:sub(1, #z - 4))), "truncated")
end)
