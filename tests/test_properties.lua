-- property tests on random inputs: the C msgpack decoder against a Lua
-- reference decoder, packer -> decoder round trips, and the C text writers
-- against their Lua reference. PROPERTY_SEED picks the seed (printed on a
-- failure), PROPERTY_ITER the number of cases (default 150 per property).
local t = require "testlib"
local test, eq = t.test, t.eq
local core = require "td.core"
local ref = require "msgpack_ref"
local formats = require "td.v3.formats"

local ITER = tonumber(os.getenv("PROPERTY_ITER")) or 150
local SEED = tonumber(os.getenv("PROPERTY_SEED")) or 20261122

-- a small deterministic generator (xorshift), independent of math.random
local function rng(seed)
  local x = seed ~ 0x9E3779B97F4A7C15
  return function(n)
    x = x ~ (x << 13)
    x = x ~ (x >> 7)
    x = x ~ (x << 17)
    return (x >> 1) % n + 1
  end
end

local function same(a, b)
  if a ~= a and b ~= b then return true end -- NaN
  if math.type(a) ~= math.type(b) then return false end
  if type(a) == "number" and a == 0 and b == 0 then return 1 / a == 1 / b end -- -0.0
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function decode_c(bytes, opts, cut)
  local d = core.decoder(opts or {})
  local out = {}
  local function drain()
    while true do
      local v = d:next()
      if v == nil then break end
      out[#out + 1] = v
    end
  end
  d:feed(bytes:sub(1, cut or #bytes))
  drain()
  if cut then d:feed(bytes:sub(cut + 1)); drain() end
  d:finish()
  drain()
  return out
end

test("the C decoder agrees with the Lua reference on random msgpack rows", function()
  for i = 1, ITER do
    local rnd = rng(SEED + i)
    local rows, bytes = {}, {}
    for r = 1, rnd(5) do
      local row = {}
      for c = 1, rnd(6) - 1 do row[c] = ref.random_value(rnd) end
      rows[r] = row
      bytes[#bytes + 1] = ref.encode(row, rnd)
    end
    bytes = table.concat(bytes)
    local want = ref.decode(bytes)
    local got = decode_c(bytes, {}, rnd(#bytes))
    if not same(got, want) then
      error(("case %d (seed %d): C %s, reference %s"):format(i, SEED + i, t.show(got), t.show(want)))
    end
    local gz = decode_c(core.gzip(bytes), { gzip = true, thread = rnd(2) == 1 }, rnd(#bytes))
    if not same(gz, want) then error(("case %d (seed %d): gzip path differs"):format(i, SEED + i)) end
  end
end)

test("the C decoder and the reference agree on random bytes: same values or both reject", function()
  for i = 1, ITER * 4 do
    local rnd = rng(SEED * 7 + i)
    local b = {}
    for j = 1, rnd(24) do b[j] = string.char(rnd(256) - 1) end
    local bytes = string.char(0x90 + rnd(4)) .. table.concat(b)
    local rok, want = pcall(ref.decode, bytes)
    local cok, got = pcall(decode_c, bytes, {})
    if rok ~= cok or (rok and not same(got, want)) then
      error(("case %d: bytes %q: C %s %s, reference %s %s"):format(i, bytes, tostring(cok), t.show(got),
        tostring(rok), t.show(want)))
    end
    if not cok then eq(type(got), "table", "a structured error") end
  end
end)

test("packer -> decoder round trips random records", function()
  for i = 1, ITER do
    local rnd = rng(SEED * 3 + i)
    local recs = {}
    local p <close> = core.packer { gzip = true }
    for r = 1, rnd(20) do
      local rec = { time = rnd(2000000000) }
      for _ = 1, rnd(6) do rec["c" .. rnd(8)] = ref.random_value(rnd) end
      recs[r] = rec
      p:add(rec)
    end
    local got = decode_c(p:finish(), { gzip = true })
    if not same(got, recs) then
      error(("case %d (seed %d): packed %s, decoded %s"):format(i, SEED * 3 + i, t.show(recs), t.show(got)))
    end
  end
end)

local TYPES = { "varchar", "bigint", "double", "boolean", "array(varchar)", "map(varchar,bigint)", "varbinary", "json", "date" }

test("the C text writers match the Lua reference on random rows", function()
  for i = 1, ITER do
    local rnd = rng(SEED * 5 + i)
    local width = rnd(6)
    local columns = {}
    for c = 1, width do columns[c] = { "col" .. c .. (rnd(4) == 1 and ',"x"' or ""), TYPES[rnd(#TYPES)] } end
    local rows = {}
    for r = 1, rnd(8) do
      local row = {}
      for c = 1, width do row[c] = ref.random_value(rnd) end
      rows[r] = row
    end
    -- rows as the decoder makes them (td.null kept, integers and floats as decoded)
    local bytes = {}
    for r, row in ipairs(rows) do bytes[r] = ref.encode(row) end
    rows = decode_c(table.concat(bytes), { rows = true })
    for _, fmt in ipairs { "csv", "tsv", "json", "jsonl" } do
      local opts = { header = rnd(2) == 1, objects = (fmt == "json" or fmt == "jsonl") and rnd(2) == 1 or nil }
      local a, b = {}, {}
      local wc = formats.writer(fmt, function(s) a[#a + 1] = s end, columns, opts)
      local wl = require("formats_oracle").writer(fmt, function(s) b[#b + 1] = s end, columns, opts)
      for _, row in ipairs(rows) do wc:row(row); wl:row(row) end
      wc:finish()
      wl:finish()
      if table.concat(a) ~= table.concat(b) then
        error(("case %d (seed %d), %s: C %q\nLua %q"):format(i, SEED * 5 + i, fmt, table.concat(a), table.concat(b)))
      end
    end
  end
end)
