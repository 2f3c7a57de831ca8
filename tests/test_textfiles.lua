-- td.csv, td.tsv, td.json, td.jsonl: the readers (C csv reader) and writers
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local core = require "td.core"

-- every record of a csvreader as "line:f1|f2" or "ERR@line"
local function scan(src, o)
  local r = core.csvreader(src, o)
  local out = {}
  while true do
    local f, a, b = r:next()
    if f == nil then break end
    if f == false then out[#out + 1] = "ERR@" .. b
    else out[#out + 1] = a .. ":" .. table.concat(f, "|") end
  end
  r:close()
  return table.concat(out, " ")
end

test("csvreader: RFC 4180 quotes, embedded line ends, CRLF, BOM, blank lines", function()
  eq(scan('\239\187\191a,b,c\r\n1,"x,y",3\n"multi\nline","q""q",\n\n5"in,z\n'),
    '1:a|b|c 2:1|x,y|3 3:multi\nline|q"q| 6:5"in|z')
  eq(scan("last,line"), "1:last|line", "no line end at the end")
  eq(scan(""), "")
  eq(scan("\n\n"), "")
  eq(scan('""'), "1:", "a record of one empty field")
  eq(scan("a,b\r"), "1:a|b")
  eq(scan("a\rb\r\nc"), "1:a 2:b 3:c", "a lone CR ends a line")
  eq(scan('"a\r\nb",c'), "1:a\r\nb|c", "CRLF inside quotes is data")
  eq(scan("a,,\n"), "1:a||", "empty fields")
  eq(scan("x;y\n", { delimiter = ";" }), "1:x|y")
  eq(scan("'a;b';c\n", { delimiter = ";", quote = "'" }), "1:a;b|c")
  eq(scan('"a",b\n', { quote = false }), '1:"a"|b')
end)

test("csvreader: bad records name their line and reading goes on at the next line", function()
  eq(scan('a,"bad"x,c\nok,1\n"open,2\nz,3'), "ERR@1 2:ok|1 ERR@3 4:z|3")
  local r = core.csvreader('h\n"never closed\n')
  eq(r:next()[1], "h")
  local f, msg, line = r:next()
  eq(f, false)
  like(msg, "not closed")
  eq(line, 2)
  eq(r:next(), nil)
end)

test("csvreader: tsv backslash escapes", function()
  local o = { delimiter = "\t", quote = false, escape = "\\" }
  eq(scan("a\\tb\tc\\\\d\te\\x\tf\\n\n", o), "1:a\tb|c\\d|e\\x|f\n")
  eq(scan('"q"\tx\n', o), '1:"q"|x', "quotes are data in tsv")
end)

test("csvreader: a file read in blocks gives the same records as one string", function()
  -- long quoted fields that straddle the 64 KiB blocks, and many lines
  local parts = { "id,text\n" }
  for i = 1, 3000 do
    local text = (i % 7 == 0) and ('"' .. ("x,\"\"y\n"):rep(i % 50 + 1) .. '"') or ("plain" .. i)
    parts[#parts + 1] = i .. "," .. text .. "\r\n"
  end
  parts[#parts + 1] = '9999,"' .. ("z"):rep(300000) .. '"\n' -- bigger than a block
  local text = table.concat(parts)
  local p = t.write_tmp(text)
  local f = assert(io.open(p, "rb"))
  local a, b = core.csvreader(f), core.csvreader(text)
  local n = 0
  while true do
    local fa, la = a:next()
    local fb, lb = b:next()
    eq(fa, fb)
    eq(la, lb)
    if fa == nil then break end
    n = n + 1
  end
  eq(n, 3002)
  a:close()
  f:close()
  os.remove(p)
end)

test("csvreader: bad arguments", function()
  ok(not pcall(core.csvreader, 42))
  ok(not pcall(core.csvreader, "x", { delimiter = ",," }))
  ok(not pcall(core.csvreader, "x", { quote = "," }))
  local f = io.tmpfile()
  f:close()
  ok(not pcall(core.csvreader, f), "a closed file")
  local r = core.csvreader("a")
  r:close()
  r:close()
  ok(not pcall(r.next, r))
end)

test("td.csv.records, read, rows and parse", function()
  local p = t.write_tmp('id,name\n1,"Smith, J"\n2,\n')
  local got = {}
  for rec, line in td.csv.records(p) do got[#got + 1] = { line, rec.id, rec.name } end
  eq(got, { { 2, "1", "Smith, J" }, { 3, "2", "" } })
  eq(td.csv.read(p), { { id = "1", name = "Smith, J" }, { id = "2", name = "" } })
  eq(td.csv.read(p, { columns = { "a", "b" } })[1], { a = "id", b = "name" }, "columns: no header line")
  eq(#td.csv.read(p, { columns = { "a", "b" }, header = true }), 2, "header = true skips it")
  local rows = {}
  for r in td.csv.rows(p) do rows[#rows + 1] = r end
  eq(#rows, 3)
  for _ in td.csv.rows(p) do break end -- break closes the file
  eq(td.csv.parse('a,b\n1,"x,y"\n'), { { "a", "b" }, { "1", "x,y" } })
  os.remove(p)
  raises_kind("io", td.csv.read, "/nonexistent/x.csv")
  local e = raises_kind("usage", td.csv.read, p, { delimeter = ";" })
  like(e.message, "delimiter")
end)

test("td.csv: a wrong number of fields and a broken quote are bad_input with the line; skip or a handler", function()
  local p = t.write_tmp('a,b\n1,2\n3\n4,5\n"x\n')
  local e = raises_kind("bad_input", td.csv.read, p)
  eq(e.line, 3)
  eq(e.file, p)
  like(e.message, "line 3: 1 fields, but 2 columns")
  eq(td.csv.read(p, { on_error = "skip" }), { { a = "1", b = "2" }, { a = "4", b = "5" } })
  local seen = {}
  td.csv.read(p, { on_error = function(err) seen[#seen + 1] = err.line end })
  eq(seen, { 3, 5 })
  local stop = raises_kind("usage", td.csv.read, p, { on_error = function() error(td.errors.new { kind = "usage", message = "enough" }, 0) end })
  eq(stop.message, "enough")
  os.remove(p)
end)

test("td.csv.write and writer: the job result csv rules; records by column; .tmp then rename", function()
  local p = os.tmpname()
  eq(td.csv.write(p, { { 1, "a,b" }, { 2, td.null }, { true, 1.5 }, { 3, 'say "hi"' } }, { columns = { "id", "name" } }), 4)
  eq(t.slurp(p), 'id,name\n1,"a,b"\n2,\ntrue,1.5\n3,"say ""hi"""\n')
  eq(td.csv.read(p)[4].name, 'say "hi"', "reads back")
  -- records: columns from the option, missing fields are empty
  do
    local w <close> = td.csv.writer(p, { columns = { "b", "a" } })
    w:write { a = 1, b = "x" }
    w:write { a = 2 }
    ok(not t.exists(p) or t.slurp(p) ~= "", "")
    ok(t.exists(p .. ".tmp"), "written to .tmp first")
  end
  ok(not t.exists(p .. ".tmp"))
  eq(t.slurp(p), "b,a\nx,1\n,2\n")
  -- no columns: the sorted keys of the first record; header = false
  td.csv.write(p, { { z = 1, a = 2 } })
  eq(t.slurp(p), "a,z\n2,1\n")
  td.csv.write(p, { { 1, 2 } }, { header = false, columns = { "x", "y" } })
  eq(t.slurp(p), "1,2\n")
  -- a failure leaves the old file and no .tmp
  ok(not pcall(td.csv.write, p, { { 1 }, "oops" }))
  eq(t.slurp(p), "1,2\n")
  ok(not t.exists(p .. ".tmp"))
  -- a handle is written straight and not closed
  local f = io.tmpfile()
  td.csv.write(f, { { "a\nb" } })
  f:seek("set")
  eq(f:read("a"), '"a\nb"\n')
  f:close()
  os.remove(p)
end)

test("td.tsv reads and writes TD's tsv (backslash escapes) and round-trips", function()
  local p = os.tmpname()
  local rows = { { id = "1", text = "tab\there" }, { id = "2", text = "line\nend \\ back" }, { id = "3", text = "" } }
  td.tsv.write(p, rows, { columns = { "id", "text" } })
  eq(t.slurp(p), "id\ttext\n1\ttab\\there\n2\tline\\nend \\\\ back\n3\t\n")
  eq(td.tsv.read(p), rows)
  os.remove(p)
end)

test("td.json and td.jsonl: read, write, integers stay integers, bad lines", function()
  local p = os.tmpname()
  td.json.write(p, { day = "2026-11-21", jobs = { 1, 2 }, none = td.null, r = 0.1 })
  eq(t.slurp(p), '{"day": "2026-11-21", "jobs": [1, 2], "none": null, "r": 0.1}\n')
  local v = td.json.read(p)
  eq(math.type(v.jobs[1]), "integer")
  eq(v.none, td.null)
  eq(td.json.decode("[1, 2.5]")[2], 2.5)
  raises_kind("bad_input", td.json.decode, "{oops")
  eq(td.json.encode({ b = 1, a = { true } }), '{"a": [true], "b": 1}')

  eq(td.jsonl.write(p, { { a = 1 }, { a = 2, s = "x" } }), 2)
  eq(t.slurp(p), '{"a": 1}\n{"a": 2, "s": "x"}\n')
  local lines = {}
  for rec, line in td.jsonl.records(p) do lines[#lines + 1] = line .. "=" .. rec.a end
  eq(lines, { "1=1", "2=2" })
  local f = assert(io.open(p, "a"))
  f:write("\n{bad\n[3]\n")
  f:close()
  local e = raises_kind("bad_input", td.jsonl.read, p)
  eq(e.line, 4)
  eq(#td.jsonl.read(p, { on_error = "skip" }), 3)
  -- rows with columns go through the C writer as objects
  td.jsonl.write(p, { { 1, "x" }, { 2, td.null } }, { columns = { "id", "name" } })
  eq(t.slurp(p), '{"id": 1, "name": "x"}\n{"id": 2, "name": null}\n')
  os.remove(p)
end)

test("td.time.strptime", function()
  local st = td.time.strptime
  eq(st("22/11/2026 10:00", "%d/%m/%Y %H:%M"), 1795341600)
  eq(st("2026-11-22T19:00:00+09:00", "%Y-%m-%dT%H:%M:%S%z"), 1795341600)
  eq(st("Nov 22 2026 10:00 AM", "%b %d %Y %I:%M %p"), 1795341600)
  eq(st("1795341600", "%s"), 1795341600)
  eq(st("2026-11-22 10:00:00.250", "%F %T.%f"), 1795341600.25)
  eq(st("2026-02-30", "%F"), nil)
  eq(st("22/11/2026", "%Y-%m-%d"), nil)
end)

test("json_decode: integers exact, big integers as their digits, strict syntax with offsets", function()
  local d = require("td.core").json_decode
  local v = d("[1, 2.5, 1e3, 1234567890123456789, 9223372036854775807, 9223372036854775808, -9223372036854775809]")
  eq(v, { 1, 2.5, 1000.0, 1234567890123456789, math.maxinteger, "9223372036854775808", "-9223372036854775809" })
  eq(math.type(v[1]), "integer")
  eq(math.type(v[3]), "float")
  eq(d('{"a": "x\\u00e9\\ud83d\\ude00\\n\\"\\/", "b": null, "c": [true, false, {}, []]}'),
    { a = 'xé😀\n"/', b = td.null, c = { true, false, {}, {} } })
  eq(d('  "plain"  '), "plain")
  local function bad(text, want_pos, pat)
    local r, msg, pos = d(text)
    eq(r, nil, text)
    eq(pos, want_pos, text)
    like(msg, pat)
  end
  bad("[1,]", 4, "unexpected")
  bad('{"a" 1}', 6, "':' expected")
  bad('"\\ud800"', 2, "surrogate")
  bad('"a\tb"', 3, "control character")
  bad("01", 2, "after the value")
  bad("[1] x", 5, "after the value")
  bad("", 1, "value expected")
  bad("{'a': 1}", 2, "string key")
  bad("[" .. ("["):rep(100), 66, "deeply")
  bad('"open', 1, "not closed")
  bad("-", 1, "bad number")
  bad("1.", 1, "bad number")
  bad("nul", 1, "unexpected")
end)

test("td.jsonl and import read 19-digit ids exactly", function()
  local p = t.write_tmp('{"id": 1234567890123456789, "big": 18446744073709551615}\n')
  local v = td.jsonl.read(p)[1]
  eq(v.id, 1234567890123456789)
  eq(v.big, "18446744073709551615")
  eq(td.json.decode("4611686018427387905"), 4611686018427387905)
  os.remove(p)
end)

test("csv and tsv: random rows written and read back are the same; random bytes never break the readers", function()
  math.randomseed(20261122)
  local alphabet = { "a", "b", ",", '"', "\n", "\r", "\t", "\\", " ", "é", "x\r\ny", "" }
  local function field()
    local n = math.random(0, 6)
    local s = {}
    for i = 1, n do s[i] = alphabet[math.random(#alphabet)] end
    return table.concat(s)
  end
  for _, mod in ipairs { td.csv, td.tsv } do
    for _ = 1, 30 do
      -- (tsv has no quoting: a row of one empty field is a blank line, which readers skip)
      local ncol = math.random(mod == td.tsv and 2 or 1, 5)
      local cols, rows = {}, {}
      for c = 1, ncol do cols[c] = "c" .. c end
      for r = 1, math.random(0, 20) do
        local row = {}
        for c = 1, ncol do row[c] = field() end
        rows[r] = row
      end
      local f = io.tmpfile()
      mod.write(f, rows, { columns = cols })
      f:seek("set")
      local got = {}
      for rec in mod.records(f) do
        local row = {}
        for c = 1, ncol do row[c] = rec[cols[c]] end
        got[#got + 1] = row
      end
      f:close()
      eq(got, rows)
    end
  end
  local core = require "td.core"
  local bytes = { ",", '"', "\n", "\r", "\t", "\\", "a", "\0", "\239", "\187", "\191", "{", "}", "[", "]", ":", "1", "-", "e", "." }
  for _ = 1, 300 do
    local s = {}
    for i = 1, math.random(0, 40) do s[i] = bytes[math.random(#bytes)] end
    local text = table.concat(s)
    for _, o in ipairs { {}, { delimiter = "\t", quote = false, escape = "\\" } } do
      local r = core.csvreader(text, o)
      for _ = 1, 100 do
        local fields = r:next()
        if fields == nil then break end
      end
      r:close()
    end
    local v, err = core.json_decode(text)
    ok(v ~= nil or type(err) == "string")
  end
end)
