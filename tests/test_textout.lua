-- the C text writer (td.core.textwriter behind td.formats.writer) against
-- the Lua reference (td.oracle.writer): byte-identical output for
-- every format and option over generated rows, and its errors
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local core = require "td.core"
local formats = require "td.v3.formats"
local oracle = require "formats_oracle"

local NULL = core.null

-- equal strings, reporting where they first differ (not the whole text)
local function same(got, want, what)
  if got == want then return end
  if type(got) ~= "string" then error(("%s: expected a string, got %s"):format(what, type(got)), 2) end
  local i = 1
  while i <= #got and got:byte(i) == want:byte(i) do i = i + 1 end
  error(("%s: differs at byte %d (lengths %d and %d): got %q, want %q"):format(what, i, #got, #want,
    got:sub(math.max(1, i - 40), i + 40), want:sub(math.max(1, i - 40), i + 40)), 2)
end

-- the text of rows through a writer (make = formats.writer or oracle.writer)
local function render(make, fmt, columns, rows, opts)
  local out = {}
  local w = make(fmt, function(s) out[#out + 1] = s end, columns, opts)
  for i = 1, rows.n or #rows do w:row(rows[i]) end
  w:finish()
  return table.concat(out), w.rows
end

-- C and Lua agree on rows for every format, header on/off, objects on/off
local function agree(columns, rows, what)
  for _, fmt in ipairs { "csv", "tsv", "jsonl", "json" } do
    for _, header in ipairs { false, true } do
      for _, objects in ipairs { false, true } do
        if not objects or fmt == "json" or fmt == "jsonl" then
          local opts = { header = header, objects = objects }
          local want, wn = render(oracle.writer, fmt, columns, rows, opts)
          local got, gn = render(formats.writer, fmt, columns, rows, opts)
          same(got, want, ("%s: %s header=%s objects=%s"):format(what, fmt, header, objects))
          eq(gn, wn, "row count")
        end
      end
    end
  end
end

-- ---------------------------------------------------------------------------
-- value generators (fixed seed: every run formats the same rows)

local function bits_to_double(u) return (string.unpack("<d", string.pack("<i8", u))) end

local FLOATS = {
  0.0, -0.0, 0.1, -0.1, 1 / 3, 2 / 3, 0.5, 1.5, 3.0, 1e16, -1e16, 1e15, 1e15 + 0.5, 9007199254740993.0,
  9999999999999998.0, 1e-5, 1e-4, 9.9999e-5, 1.5e-7, 1e-7, 123456789012345678.0, 5e-324, -5e-324,
  2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308, -1.7976931348623157e308,
  0 / 0, math.huge, -math.huge, 1e300, 1e-300, 0.1 + 0.2, 1e21, 1e22, 1e23, 123.456, 3.14159,
  2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, -2 ^ 63, 2 ^ 64, 4.35, 0.3, 1234567890123456.8, 123456789012345.67,
  1e14 + 0.25, 99999999999999.99, 0.000123456789012345678, 1.0000000000000002, 0.9999999999999999,
  (string.unpack("<f", string.pack("<f", 0.1))), (string.unpack("<f", string.pack("<f", 3.3))),
}

local function random_float(rng)
  local r = rng(6)
  if r == 1 then return FLOATS[rng(#FLOATS)] end
  if r == 2 then return bits_to_double(rng(0)) end -- any bit pattern
  if r == 3 then return rng(-10 ^ 6, 10 ^ 6) / 10 ^ rng(0, 9) end -- a short decimal
  if r == 4 then return rng(0, 10 ^ 15) / 10 ^ rng(0, 20) * (rng(2) == 1 and -1 or 1) end
  if r == 5 then return (rng() - 0.5) * 10.0 ^ rng(-30, 30) end
  return (string.unpack("<f", string.pack("<i4", rng(-2 ^ 31, 2 ^ 31 - 1)))) -- float32 values
end

local INTS = { 0, 1, -1, math.mininteger, math.maxinteger, 127, -128, 2 ^ 31 - 1 | 0, -2 ^ 31 | 0, 10 ^ 15 | 0 }

local function random_int(rng)
  if rng(3) == 1 then return INTS[rng(#INTS)] end
  return rng(math.mininteger, math.maxinteger) >> rng(0, 63)
end

local STRINGS = {
  "", ",", '"', "\r", "\n", "\r\n", "\t", "\\", "a,b", 'say "hi"', "x\ry", "line\nline", "tab\there",
  "back\\slash", "\0", "\1\2\31\127", "\b\f", "café", "日本語", "✓", "𝄞", "\u{FFFD}", "\u{10FFFF}",
  "\x80", "ab\xbfcd", "\xe2\x82", "\xe2\x82A", "\xf0\x9f\x98", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80",
  "\xf0\x80\x80\x80", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
  "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff", "ok\xff\xfeend", "\xc3", "é\xc3",
  "-12", "12", "-", "1e5", " 1", "18446744073709551615", "9223372036854775808", "-9223372036854775809",
  "NaN", "null", "true", "_col0", ("long,\"text\"\n"):rep(300),
}

-- byte soup: pieces that stress quoting, escapes and UTF-8 validation
local PIECES = {
  "a", "Z", "0", " ", ",", '"', "\r", "\n", "\t", "\\", "\0", "\27", "\127", "é", "日", "𝄞",
  "\x80", "\xbf", "\xc2", "\xdf", "\xe0", "\xed", "\xef", "\xf0", "\xf4", "\xf5", "\xff", "\xa0\x80",
  "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf",
}

local function random_string(rng)
  local r = rng(3)
  if r == 1 then return STRINGS[rng(#STRINGS)] end
  local parts = {}
  for i = 1, rng(0, 12) do parts[i] = PIECES[rng(#PIECES)] end
  if r == 2 then return table.concat(parts) end
  local bytes = {}
  for i = 1, rng(0, 8) do bytes[i] = string.char(rng(0, 255)) end
  return table.concat(bytes)
end

local random_value

local function random_table(rng, depth)
  local r = rng(9)
  if r == 1 then return {} end
  if r <= 4 then -- an array
    local a = {}
    for i = 1, rng(1, 5) do
      local v = random_value(rng, depth + 1)
      a[i] = v == nil and NULL or v
    end
    return a
  end
  if r == 5 then return { [1] = random_string(rng), [2] = random_int(rng) } end -- 1..n in the hash part
  if r == 6 then return { 1, 2, [4] = 4 } end                                   -- a hole
  local m = {}
  for _ = 1, rng(1, 6) do
    local kr = rng(6)
    local k
    if kr <= 3 then k = random_string(rng)
    elseif kr == 4 then k = random_int(rng) % 1000 - 500
    elseif kr == 5 then
      k = random_float(rng)
      if k ~= k then k = 0.5 end
    else k = rng(2) == 1 end
    m[k] = random_value(rng, depth + 1)
    if m[k] == nil then m[k] = NULL end
  end
  if r == 7 then m[1], m["1"] = "int one", "string one" end -- two keys with the same text
  return m
end

random_value = function(rng, depth)
  local r = rng(depth > 2 and 7 or 9)
  if r == 1 then return random_int(rng) end
  if r == 2 then return random_float(rng) end
  if r == 3 or r == 4 then return random_string(rng) end
  if r == 5 then return rng(2) == 1 end
  if r == 6 then return NULL end
  if r == 7 then return STRINGS[rng(#STRINGS)] end
  return random_table(rng, depth)
end

local COLUMNS = {
  { "id", "bigint" }, { "name", "varchar" }, { "score", "double" }, { "ok", "boolean" },
  { "blob", "varbinary" }, { "m", "map(varchar,bigint)" }, { "arr", "array(varchar)" },
  { "n", "INT" }, { "b2", "binary(16)" }, { "x" }, { "", "varchar" }, { 'q"u,o\te', "map" },
}

-- rows of values of every kind, in columns of every kind
local function random_rows(seed, count)
  math.randomseed(seed)
  local rng = math.random
  local rows = {}
  for i = 1, count do
    local row = {}
    local width = rng(5) == 1 and rng(0, #COLUMNS + 2) or #COLUMNS
    for c = 1, width do
      local v = random_value(rng, 0)
      if v == nil then v = NULL end
      row[c] = v
    end
    rows[i] = row
  end
  return rows
end

-- ---------------------------------------------------------------------------
-- differential tests

test("generated rows: C and Lua writers agree byte for byte (every format, header, objects)", function()
  for seed = 1, 6 do agree(COLUMNS, random_rows(seed, 400), "seed " .. seed) end
end)

test("the fixed cases: integers, u64 strings, floats, strings, booleans, null, binary", function()
  local cols = { { "i", "bigint" }, { "s", "varchar" }, { "f", "double" }, { "b", "varbinary" }, { "z", "boolean" } }
  local rows = {}
  local n = math.max(#INTS, #FLOATS, #STRINGS)
  for k = 1, n do
    rows[k] = {
      INTS[(k - 1) % #INTS + 1], STRINGS[(k - 1) % #STRINGS + 1], FLOATS[(k - 1) % #FLOATS + 1],
      STRINGS[(k * 7) % #STRINGS + 1], k % 3 == 0 and NULL or k % 2 == 0,
    }
  end
  rows[#rows + 1] = { "18446744073709551615", "18446744073709551615", NULL, "", true }
  rows[#rows + 1] = { "-12", "-12", -0.0, "\0\1\2\255", false }
  rows[#rows + 1] = { "12x", "", 0 / 0, "f", NULL }
  agree(cols, rows, "fixed")
  -- the same values again as the only column, where "" and null are written ""
  for _, col in ipairs(cols) do
    local one = {}
    for k, r in ipairs(rows) do one[k] = { r[1] } end
    agree({ col }, one, "one column " .. col[2])
  end
end)

test("nested arrays and maps: sorted keys, mixed key types, empty tables by column type", function()
  local cols = { { "a", "array(varchar)" }, { "m", "map(varchar,varchar)" }, { "o" } }
  local shared = { 1, 2 }
  local rows = {
    { {}, {}, {} },
    { { 1, "two", 3.5, true, NULL }, { b = 2, a = 1, c = { z = 1, y = { 2, 1 } } }, { [1] = "x", [2] = "y" } },
    { { {}, { {} }, { k = {} } }, { [1] = "one", ["1"] = "string one", [2.5] = "f", [true] = "t" }, { 1, nil, 3 } },
    { { 0.1, -0.0, 0 / 0, math.huge, -math.huge, math.maxinteger }, { [10] = 1, [9] = 2, [-1] = 3 }, { [1] = 1, [3] = 3 } },
    { { "é\xff", "\n\t\"\\" }, { ["é"] = 1, ["\xff"] = 2, [""] = 3, ["a\0b"] = 4, ["a"] = 5 }, shared },
    { { shared, shared }, { [shared] = "table key" }, { [1] = 1, [2] = 2, x = 3 } },
    { { "18446744073709551615" }, { 1, 2, 3 }, { [1.5] = 1, [1e300] = 2, [-0.25] = 3 } },
  }
  agree(cols, rows, "nested")
end)

test("floats: the C text is oracle.float for fixed, random bits, short decimals and float32", function()
  math.randomseed(20240601)
  local rng = math.random
  local rows, lines = {}, {}
  for _, f in ipairs(FLOATS) do rows[#rows + 1] = { f } end
  for _ = 1, 20000 do rows[#rows + 1] = { random_float(rng) } end
  for _ = 1, 5000 do rows[#rows + 1] = { bits_to_double(rng(0) & 0x800fffffffffffff) } end -- subnormal
  for k = -12, 22 do rows[#rows + 1] = { 10.0 ^ k }; rows[#rows + 1] = { 7.0 * 10.0 ^ k + 0.5 } end
  for i, r in ipairs(rows) do lines[i] = oracle.float(r[1]) end
  local got = render(formats.writer, "csv", { { "f", "double" } }, rows)
  same(got, table.concat(lines, "\n") .. "\n", "csv floats")
  agree({ { "f", "double" } }, rows, "floats")
end)

test("strings: invalid UTF-8 becomes U+FFFD only in JSON; every piece agrees", function()
  local rows = {}
  for i, s in ipairs(STRINGS) do rows[i] = { s } end
  math.randomseed(7)
  for _ = 1, 3000 do rows[#rows + 1] = { random_string(math.random) } end
  agree({ { "s", "varchar" } }, rows, "strings")
  eq(render(formats.writer, "jsonl", { { "s", "varchar" } }, { { "\xe2\x82A\xed\xa0\x80\xf4\x90\x80\x80" } }),
    '["\u{FFFD}\u{FFFD}A\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"]\n')
  eq(render(formats.writer, "csv", { { "s", "varchar" } }, { { "\xff,\r" } }), '"\xff,\r"\n')
end)

test("rows longer and shorter than the schema, and no schema at all", function()
  local rows = { {}, { 1 }, { 1, "a", 2.5, NULL, { 1 }, { x = 1 } }, { "" }, { NULL }, { 1, 2, 3, 4, 5, 6, 7, 8 } }
  agree({ { "a", "bigint" }, { "b", "varbinary" } }, rows, "widths")
  agree({}, rows, "no schema")
  agree(nil, rows, "nil schema")
end)

test("large output is handed over in pieces, same bytes", function()
  math.randomseed(99)
  local rows = {}
  for i = 1, 5000 do rows[i] = { i, ("x"):rep(math.random(0, 100)), i * 1.5, { "t" .. i % 3 } } end
  local pieces = 0
  local out = {}
  local w = formats.writer("csv", function(s) pieces = pieces + 1; out[#out + 1] = s end,
    { { "id", "bigint" }, { "s", "varchar" }, { "f", "double" }, { "a", "array(varchar)" } }, { header = true })
  for _, r in ipairs(rows) do w:row(r) end
  w:finish()
  ok(pieces > 2, "several pieces")
  local want = render(oracle.writer, "csv",
    { { "id", "bigint" }, { "s", "varchar" }, { "f", "double" }, { "a", "array(varchar)" } }, rows, { header = true })
  same(table.concat(out), want, "pieces")
  eq(w.rows, 5000)
end)

-- ---------------------------------------------------------------------------
-- the writer object and its errors

local function err_of(fn, ...)
  local okk, e = pcall(fn, ...)
  ok(not okk, "expected an error")
  return tostring(e)
end

test("core.textwriter: header, take(min), finish, close", function()
  local w <close> = core.textwriter { format = "json", kinds = { "int", "other" }, names = { "n", "s" }, header = true }
  eq(w:take(), '[\n["n", "s"]')
  eq(w:take(), nil, "nothing left")
  eq(w:take(0), "", "min 0 takes even nothing")
  eq(w:row { "18446744073709551615", "x" }, 29)
  eq(w:take(30), nil, "less than min")
  eq(w:take(29), ',\n[18446744073709551615, "x"]', "an integer column: u64 digits are a number")
  w:finish()
  eq(w:take(), "\n]\n")
  like(err_of(w.row, w, { 1 }), "finished")
  w:close()
  like(err_of(w.take, w), "closed")
  w:close() -- again: nothing
  like(tostring(w), "textwriter")
  local e = core.textwriter { format = "json" }
  e:finish()
  eq(e:take(), "[]\n")
end)

test("bad arguments raise naming the argument", function()
  like(err_of(core.textwriter, { format = "xml" }), "bad argument 'format' to 'textwriter' %(csv, tsv, json or jsonl expected, got \"xml\"%)")
  like(err_of(core.textwriter, {}), "bad argument 'format'.*got nil")
  like(err_of(core.textwriter, "csv"), "bad argument #1 to '[%w.]*textwriter' %(table expected, got string%)")
  like(err_of(core.textwriter, { format = "csv", kinds = { "int", "blob" } }), "bad argument 'kinds'.*kinds%[2%] must be bin, int, map or other, got blob")
  like(err_of(core.textwriter, { format = "csv", kinds = "int" }), "bad argument 'kinds'.*table expected, got string")
  like(err_of(core.textwriter, { format = "csv", names = { "a", 2 } }), "bad argument 'names'.*names%[2%] must be a string, got number")
  local w = core.textwriter { format = "csv" }
  like(err_of(w.row, w, "a,b"), "table expected, got string")
  like(err_of(w.row, w), "table expected, got no value")
  like(err_of(w.take, w, "x"), "number expected")
  like(err_of(formats.writer, "xml", function() end, {}), "unknown format xml")
  like(err_of(formats.writer, "msgpack.gz", function() end, {}), "unknown format msgpack.gz")
  local fw = formats.writer("csv", function() end, {})
  like(err_of(fw.row, fw, 42), "table expected, got number")
end)

test("a value nested too deeply raises as the Lua writer does; the writer goes on without that row", function()
  local deep = {}
  local cur = deep
  for _ = 1, 70 do
    cur[1] = {}
    cur = cur[1]
  end
  local cyclic = {}
  cyclic.self = cyclic
  local function nest(n) -- n tables, one inside the other
    local top = {}
    local c = top
    for _ = 2, n do
      c[1] = {}
      c = c[1]
    end
    return top
  end
  local fine, edge = nest(65), nest(66) -- the deepest allowed, one more
  for _, fmt in ipairs { "csv", "tsv", "jsonl", "json" } do
    local outs = {}
    for k, make in ipairs { oracle.writer, formats.writer } do
      local out = {}
      local w = make(fmt, function(s) out[#out + 1] = s end, { { "a", "bigint" }, { "v" } }, { header = true })
      w:row { 1, "before" }
      for _, bad in ipairs { deep, cyclic, edge } do
        local okk, e = pcall(w.row, w, { 2, bad })
        ok(not okk, "raises")
        eq(e, "value nested too deeply for JSON", fmt .. " message " .. k)
      end
      w:row { 3, fine }
      w:finish()
      outs[k] = table.concat(out)
    end
    same(outs[2], outs[1], fmt)
    ok(not outs[2]:find("\n2,", 1, true), "the failed row is not written")
  end
end)

test("other values are written as tostring writes them", function()
  local rows = { { print, io.stdout, coroutine.create(function() end), string.sub } }
  agree({ { "a" }, { "b" }, { "c" }, { "d", "map" } }, rows, "tostring")
end)

-- ---------------------------------------------------------------------------
-- the download path: msgpack bytes to text with no Lua table per row

-- rows as msgpack arrays, the way a result stream holds them (td.null: nil)
local function pack_rows(rows)
  local p = core.packer { gzip = false, require_time = false }
  local parts = {}
  for i, row in ipairs(rows) do
    p:add { r = row }
    parts[i] = p:finish():sub(4) -- drop the one-key map around the array
  end
  return table.concat(parts)
end

-- the text of a stream through dec:write (pulled in pieces of `piece` bytes)
local function pulled(fmt, columns, bytes, opts, piece, gzip)
  local out = {}
  local w = formats.writer(fmt, function(s) out[#out + 1] = s end, columns, opts)
  local dec = core.decoder { gzip = gzip, rows = true }
  if gzip then bytes = core.gzip(bytes) end
  local pos = 1
  while true do
    local state = w:pull(dec)
    if state == "end" then break end
    eq(state, "empty")
    if pos > #bytes then dec:finish()
    else
      dec:feed(bytes:sub(pos, pos + piece - 1))
      pos = pos + piece
    end
  end
  w:finish()
  return table.concat(out), w.rows
end

test("w:pull(decoder): text straight from msgpack is the oracle's text of the decoded rows", function()
  for seed = 1, 3 do
    local rows = random_rows(100 + seed, 150)
    local bytes = pack_rows(rows)
    local dec = core.decoder { rows = true }
    dec:feed(bytes)
    dec:finish()
    local decoded = {}
    while true do
      local r = dec:next()
      if r == nil then break end
      decoded[#decoded + 1] = r
    end
    eq(#decoded, #rows)
    for _, fmt in ipairs { "csv", "tsv", "jsonl", "json" } do
      for _, objects in ipairs { false, true } do
        if not objects or fmt == "json" or fmt == "jsonl" then
          local opts = { header = seed ~= 2, objects = objects }
          local want, wn = render(oracle.writer, fmt, COLUMNS, decoded, opts)
          local what = ("seed %d %s objects=%s"):format(seed, fmt, objects)
          local got, gn = pulled(fmt, COLUMNS, bytes, opts, 997, false)
          same(got, want, what)
          eq(gn, wn, what .. " rows")
          got = pulled(fmt, COLUMNS, bytes, opts, 4096, seed == 3)
          same(got, want, what .. " (gzip, other pieces)")
        end
      end
    end
  end
end)

test("w:pull(decoder): a stream that ends inside a row or holds a non-row raises, kind and all", function()
  local errors = require "td.errors"
  local bytes = pack_rows { { 1, "a" }, { 2, "b" } }
  local w = formats.writer("csv", function() end, {}, {})
  local dec = core.decoder { rows = true }
  dec:feed(bytes:sub(1, #bytes - 1))
  eq(w:pull(dec), "empty")
  eq(w.rows, 1)
  dec:finish()
  local e = t.raises(w.pull, w, dec)
  ok(errors.is(e, "truncated"), tostring(e))
  like(e.message, "ended in the middle of a row")
  local dec2 = core.decoder {}
  dec2:feed("\x01")
  e = t.raises(w.pull, w, dec2)
  ok(errors.is(e, "corrupt"), tostring(e))
  like(e.message, "not a row")
end)

test("formats.json (core.json_encode) is the oracle's JSON of any value", function()
  math.randomseed(77)
  for _ = 1, 3000 do
    local v = random_value(math.random, 0)
    same(formats.json(v), oracle.json(v), "json of a random value")
  end
  eq(formats.json(nil), "null")
  eq(formats.json(NULL), "null")
  eq(formats.json { b = 1, a = { 1.5, "x" } }, '{"a": [1.5, "x"], "b": 1}')
  local deep = {}
  local cur = deep
  for _ = 1, 70 do cur[1] = {} cur = cur[1] end
  like(tostring(t.raises(formats.json, deep)), "nested too deeply")
end)
