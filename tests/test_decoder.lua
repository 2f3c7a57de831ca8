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

-- rows 1..n as msgpack arrays { i, "row i", i / 4 }
local function rows_bytes(a, b)
  local parts = {}
  for i = a, b do
    local s = "row " .. i
    parts[#parts + 1] = arr(3) .. "\xcd" .. string.pack(">I2", i) .. str(s) .. "\xcb" .. string.pack(">d", i / 4)
  end
  return table.concat(parts)
end

-- decode gzip bytes fed in pieces of `piece` bytes
local function gz_decode(gz, piece, thread)
  local d = core.decoder { gzip = true, rows = true, thread = thread }
  local got = {}
  local function drain() while true do local v = d:next() if v == nil then break end got[#got + 1] = v end end
  for pos = 1, #gz, piece do
    d:feed(gz:sub(pos, pos + piece - 1))
    drain()
  end
  d:finish()
  drain()
  return got, d
end

test("gzip streams: inflating on a second thread or inline gives the same rows, over members and any split", function()
  local gz = core.gzip(rows_bytes(1, 3000)) .. core.gzip(rows_bytes(3001, 3001)) .. core.gzip(rows_bytes(3002, 5000))
  for _, thread in ipairs { true, false } do
    for _, piece in ipairs { 1, 7, 1000, 65536, #gz } do
      local got = gz_decode(gz, piece, thread)
      eq(#got, 5000, ("thread=%s piece=%d"):format(thread, piece))
      eq(got[1], { 1, "row 1", 0.25 })
      eq(got[3001], { 3001, "row 3001", 3001 / 4 })
      eq(got[5000], { 5000, "row 5000", 1250.0 })
    end
  end
  eq(type(core.inflater), "string")
end)

test("bad result streams raise error objects: corrupt gzip, truncated gzip, a row cut short, a non-row", function()
  local errors = require "td.errors"
  local gz = core.gzip(rows_bytes(1, 500))
  local function fails(kind, pattern, fn)
    local e = t.raises(fn)
    t.ok(errors.is(e, kind), ("%s expected, got %s"):format(kind, tostring(e)))
    like(e.message, pattern)
  end
  for _, thread in ipairs { true, false } do
    fails("corrupt", "not valid gzip", function() gz_decode("this is not gzip data at all", 5, thread) end)
    fails("corrupt", "not valid gzip", function() gz_decode(gz .. "garbage after the member", 100, thread) end)
    fails("truncated", "inside a gzip member", function() gz_decode(gz:sub(1, #gz - 6), 100, thread) end)
    local bad = gz:sub(1, 40) .. string.char((gz:byte(41) + 1) % 256) .. gz:sub(42)
    local ok = pcall(gz_decode, bad, 100, thread)
    t.ok(not ok, "a flipped byte is caught (by the data or the checksum)")
  end
  local d = core.decoder { rows = true }
  d:feed(rows_bytes(1, 2):sub(1, -3))
  eq(d:next()[1], 1)
  eq(d:next(), nil)
  d:finish()
  fails("truncated", "middle of a row", function() return d:next() end)
  d = core.decoder { rows = true }
  d:feed("\x05")
  fails("corrupt", "not a row", function() return d:next() end)
  d = core.decoder { rows = true, keys = { "a" } }
  d:feed("\xa1x")
  fails("corrupt", "not a row", function() return d:next() end)
  -- without rows = true any msgpack value decodes (maps of an import, ...)
  d = core.decoder {}
  d:feed("\x05\x81\xa1k\x01")
  eq(d:next(), 5)
  eq(d:next(), { k = 1 })
end)

test("core.configure: the client-wide connection cap", function()
  local errors = require "td.errors"
  local before = core.configure().max_connections
  eq(before, 64)
  eq(core.configure { max_connections = 8 }.max_connections, 8)
  local e = t.raises(core.configure, { max_connections = 0 })
  t.ok(errors.is(e, "usage"), tostring(e))
  like(e.message, "max_connections")
  td.client { apikey = "1/x", endpoint = "http://127.0.0.1:1", max_connections = 5 }
  eq(core.configure().max_connections, 5, "td.client{max_connections=} sets the cap")
  e = t.raises(td.client, { apikey = "1/x", max_connections = "many" })
  t.ok(errors.is(e, "usage"), tostring(e))
  core.configure { max_connections = before }
end)

test("core.gzcheck verifies on the second thread or inline alike: rows counted, corrupt and truncated data refused", function()
  local gz = core.gzip(rows_bytes(1, 3000)) .. core.gzip(rows_bytes(3001, 5000))
  for _, thread in ipairs { true, false } do
    local function check(bytes, piece)
      local v <close> = core.gzcheck { thread = thread }
      for pos = 1, #bytes, piece do
        local good, kind, msg = v:update(bytes:sub(pos, pos + piece - 1))
        if not good then return nil, kind, msg end
      end
      return v:finish()
    end
    eq(check(gz, 999), 5000)
    eq(check(gz, #gz), 5000)
    local rows, kind = check(gz:sub(1, #gz - 3), 4096)
    eq(rows, nil)
    eq(kind, "truncated")
    rows, kind = check(gz .. "junk", 4096)
    eq(kind, "corrupt")
    rows, kind = check(core.gzip("\x01\x02"), 100)
    eq(kind, "corrupt", "values that are not rows")
    rows, kind = check(("\x8a\x13\xf0\x01"):rep(300), 100)
    eq(kind, "corrupt")
  end
end)
