-- the C msgpack.gz encoder behind imports (td.core.packer)
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local core = require "td.core"

-- encode records without gzip and return the msgpack bytes
local function pack(records, opts)
  local o = { gzip = false, require_time = false }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p <close> = core.packer(o)
  for _, r in ipairs(records) do p:add(r) end
  return p:finish()
end

-- decode every value of a msgpack (or msgpack.gz) string
local function decode_all(bytes, gz)
  local d = core.decoder {}
  d:feed(gz and core.gunzip(bytes) or bytes)
  local out = {}
  while true do
    local v = d:next()
    if v == nil then break end
    out[#out + 1] = v
  end
  return out
end

-- the msgpack bytes of one value, as the single field `v` of a record
local function enc(v)
  local s = pack { { v = v } }
  eq(s:sub(1, 3), "\x81\xa1v", "map header")
  return s:sub(4)
end

local function err_of(fn, ...)
  local okk, e = pcall(fn, ...)
  ok(not okk, "expected an error")
  return tostring(e)
end

test("integers take the smallest msgpack encoding at every boundary", function()
  local cases = {
    { 0, "\x00" }, { 127, "\x7f" }, { 128, "\xcc\x80" }, { 255, "\xcc\xff" },
    { 256, "\xcd\x01\x00" }, { 65535, "\xcd\xff\xff" }, { 65536, "\xce\x00\x01\x00\x00" },
    { 4294967295, "\xce\xff\xff\xff\xff" }, { 4294967296, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00" },
    { math.maxinteger, "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff" },
    { -1, "\xff" }, { -32, "\xe0" }, { -33, "\xd0\xdf" }, { -128, "\xd0\x80" },
    { -129, "\xd1\xff\x7f" }, { -32768, "\xd1\x80\x00" }, { -32769, "\xd2\xff\xff\x7f\xff" },
    { -2147483648, "\xd2\x80\x00\x00\x00" }, { -2147483649, "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff" },
    { math.mininteger, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00" },
  }
  for _, c in ipairs(cases) do
    eq(enc(c[1]), c[2], "encoding of " .. c[1])
    local back = decode_all(pack { { v = c[1] } })[1].v
    eq(back, c[1])
    eq(math.type(back), "integer", "decoded type of " .. c[1])
  end
end)

test("floats are float64, also integral ones and values beyond int64", function()
  eq(enc(1.5), "\xcb" .. string.pack(">d", 1.5))
  eq(enc(2.0), "\xcb" .. string.pack(">d", 2.0)) -- a float stays a float
  for _, f in ipairs { 0.0, -0.25, 1e300, -1e-300, 2.0 ^ 63, -(2.0 ^ 64), math.huge, -math.huge, math.pi } do
    local back = decode_all(pack { { v = f } })[1].v
    eq(back, f)
    eq(math.type(back), "float")
  end
  local nan = decode_all(pack { { v = 0 / 0 } })[1].v
  ok(nan ~= nan, "NaN round trips")
end)

test("strings use fixstr, str8, str16 and str32 by length and keep raw bytes", function()
  local function header(n)
    local s = enc(("x"):rep(n))
    eq(#s - n > 0, true)
    return s:sub(1, #s - n)
  end
  eq(header(0), "\xa0")
  eq(header(31), "\xbf")
  eq(header(32), "\xd9\x20")
  eq(header(255), "\xd9\xff")
  eq(header(256), "\xda\x01\x00")
  eq(header(65535), "\xda\xff\xff")
  eq(header(65536), "\xdb\x00\x01\x00\x00")
  local raw = "a\0b\xff\xfe\x80 caf\xc3\xa9"
  eq(decode_all(pack { { v = raw } })[1].v, raw)
  local long = ("0123456789"):rep(7000)
  eq(decode_all(pack { { v = long } })[1].v, long)
end)

test("booleans, null, nested arrays and maps; empty nested tables are arrays", function()
  eq(enc(true), "\xc3")
  eq(enc(false), "\xc2")
  eq(enc(td.null), "\xc0")
  eq(enc(require("cjson").null), "\xc0")
  eq(enc({}), "\x90")
  eq(enc({ 1, 2, 3 }), "\x93\x01\x02\x03")
  local big = {}
  for i = 1, 16 do big[i] = i end
  eq(enc(big):sub(1, 3), "\xdc\x00\x10")
  eq(enc({ k = 1 }), "\x81\xa1k\x01")
  local rec = {
    time = 1, tags = { "a", "b" }, attrs = { color = "red", size = { w = 1, h = 2.5 } },
    sparse = { [1] = "x", [3] = "z" }, mixed = { 1, 2, name = "n" }, deep = { { { {} } } },
    flag = false, none = td.null,
  }
  local back = decode_all(pack { rec })[1]
  eq(back.tags, { "a", "b" })
  eq(back.attrs, { color = "red", size = { w = 1, h = 2.5 } })
  eq(back.sparse, { [1] = "x", [3] = "z" }) -- not 1..n: a map with integer keys
  eq(back.mixed, { 1, 2, name = "n" })
  eq(back.deep, { { { {} } } })
  eq(back.flag, false)
  eq(back.none, td.null)
  local n = 0
  for _ in pairs(back) do n = n + 1 end
  eq(n, 8)
end)

test("an empty record is an empty map; a record is never an array", function()
  eq(pack { {} }, "\x80")
  like(err_of(pack, { { 1, 2 } }), "record 1: keys must be strings")
end)

test("time must be an integer; an integral float is sent as an integer", function()
  local p <close> = core.packer { gzip = false }
  p:add { time = 1700000000.0, v = 1 }
  local back = decode_all(p:finish())[1]
  eq(back.time, 1700000000)
  eq(math.type(back.time), "integer")
  like(err_of(p.add, p, { v = 1 }), "^record 2: no 'time' field")
  like(err_of(p.add, p, { time = 1.5 }), "^record 2: 'time' must be an integer unix time %(got 1%.5%)")
  like(err_of(p.add, p, { time = "1700000000" }), "^record 2: 'time' must be an integer .*got string")
  like(err_of(p.add, p, { time = 2.0 ^ 70 }), "^record 2: 'time' must be an integer")
  p:add { time = -5 }
  eq(select(2, p:count()), 2, "failed records are not counted")
end)

test("bad records raise naming the record number and the field", function()
  local p <close> = core.packer { gzip = false }
  p:add { time = 1 }
  like(err_of(p.add, p, "not a record"), "^record 2: a record must be a table %(got string%)")
  like(err_of(p.add, p, nil), "^record 2: a record must be a table %(got nil%)")
  like(err_of(p.add, p, { time = 1, [true] = 1 }), "^record 2: keys must be strings %(found a boolean key%)")
  like(err_of(p.add, p, { time = 1, cb = print }), "^record 2, field 'cb': cannot encode a function value")
  like(err_of(p.add, p, { time = 1, co = { coroutine.create(print) } }), "^record 2, field 'co': cannot encode a thread")
  like(err_of(p.add, p, { time = 1, f = io.stdout }), "^record 2, field 'f': cannot encode a userdata value")
  like(err_of(p.add, p, { time = 1, nested = { [{}] = 1 } }), "^record 2, field 'nested': a nested table has a table key")
end)

test("cycles and deep nesting are refused; 32 levels are fine", function()
  local p <close> = core.packer { gzip = false }
  local cyc = { time = 1 }
  cyc.self = cyc
  like(err_of(p.add, p, cyc), "^record 1, field 'self': nested more than 32 levels")
  local arr = {}
  arr[1] = arr
  like(err_of(p.add, p, { time = 1, a = arr }), "nested more than 32 levels")
  local function nest(n)
    local v = "leaf"
    for _ = 1, n do v = { v } end
    return v
  end
  p:add { time = 1, ok = nest(32) }
  like(err_of(p.add, p, { time = 1, bad = nest(33) }), "^record 2, field 'bad': nested more than 32")
  local back = decode_all(p:finish())
  eq(#back, 1)
  eq(back[1].ok, nest(32))
end)

test("a record that fails half-way leaves nothing behind in the chunk", function()
  local p <close> = core.packer {}
  p:add { time = 1, a = "first" }
  -- a long string is written before the bad field is reached (or after: either way)
  like(err_of(p.add, p, { time = 2, big = ("x"):rep(100000), z = { 1, 2, print } }), "^record 2")
  p:add { time = 3, a = "third" }
  local back = decode_all(p:finish(), true)
  eq(back, { { time = 1, a = "first" }, { time = 3, a = "third" } })
end)

test("chunks: finish returns one gzip member and starts the next; bytes and count", function()
  local p <close> = core.packer {}
  eq(p:finish(), nil, "no records, no chunk")
  eq(p:add { time = 1, n = 1 } > 0, true)
  eq({ p:count() }, { 1, 1 })
  local one = p:finish()
  eq(one:sub(1, 2), "\x1f\x8b", "gzip magic")
  eq({ p:count() }, { 0, 1 })
  eq({ p:bytes() }, { 0, 0 })
  p:add { time = 2, n = 2 }
  p:add { time = 3, n = 3 }
  local two = p:finish()
  eq(decode_all(one, true), { { time = 1, n = 1 } })
  eq(decode_all(two, true), { { time = 2, n = 2 }, { time = 3, n = 3 } })
  eq(decode_all(one .. two, true), { { time = 1, n = 1 }, { time = 2, n = 2 }, { time = 3, n = 3 } })
end)

test("records are compressed as they are added, not at the end", function()
  local p <close> = core.packer {}
  local raw
  for i = 1, 50000 do
    raw = p:add { time = 1700000000 + i, user = "user_" .. (i % 977), path = "/p/" .. (i % 101), n = i }
  end
  local gz, raw2 = p:bytes()
  eq(raw2, raw)
  ok(raw > 1000000, "over 1 MB of msgpack")
  ok(gz > 0, "compressed output exists before finish")
  ok(gz < raw / 3, ("compressed %d of %d bytes"):format(gz, raw))
  local chunk = p:finish()
  ok(#chunk >= gz)
  local back = decode_all(chunk, true)
  eq(#back, 50000)
  eq(back[50000], { time = 1700050000, user = "user_" .. (50000 % 977), path = "/p/" .. (50000 % 101), n = 50000 })
end)

test("the msgpack size does not depend on key order", function()
  local a, b = {}, {}
  local keys = {}
  for i = 1, 40 do keys[i] = "k" .. i end
  a.time = 1
  for i = 1, 40 do a[keys[i]] = i end
  for i = 40, 1, -1 do b[keys[i]] = i end
  b.time = 1
  local pa, pb = pack { a }, pack { b }
  eq(#pa, #pb)
  eq(decode_all(pa)[1], decode_all(pb)[1])
end)

test("options: gzip level, plain msgpack, closing", function()
  local recs = {}
  for i = 1, 2000 do recs[i] = { time = i, s = ("abc"):rep(10) } end
  local fast = pack(recs, { gzip = true, level = 1 })
  local best = pack(recs, { gzip = true, level = 9 })
  eq(decode_all(fast, true), decode_all(best, true))
  like(err_of(core.packer, { level = 10 }), "level must be an integer from %-1 to 9")
  like(err_of(core.packer, "x"), "table expected")
  local p = core.packer()
  p:close()
  p:close()
  like(err_of(p.add, p, { time = 1 }), "closed")
  like(tostring(p), "^td%.core%.packer")
  do
    local q <close> = core.packer()
    q:add { time = 1 }
  end
end)
