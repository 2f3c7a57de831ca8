-- client:import_file: csv, tsv and jsonl files into a table, against the fake server
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

local function new_table(c, name)
  c:request("POST", "/v3/table/create/web/" .. name .. "/log", { form = {} })
end

-- every record of web.<name>, oldest first
local function all_rows(c, name)
  local body = c:request("GET", "/v3/table/tail/web/" .. name, { query = { count = 100000, format = "msgpack" }, raw = true })
  local d = require("td.core").decoder {}
  d:feed(body)
  local out = {}
  while true do
    local r = d:next()
    if r == nil then break end
    out[#out + 1] = r
  end
  return out
end

test("import_file: a csv with quotes, a BOM and CRLF; types inferred; time from a column", function()
  t.reset()
  local c = t.client()
  new_table(c, "if_csv")
  local p = t.write_tmp('\239\187\191id,name,score,created_at,zip\r\n'
    .. '1,"Smith, John",1.5,2026-11-22 10:00:00,01234\r\n'
    .. '2,"multi\nline ""quoted""",2,2026-11-22T10:00:01Z,\r\n'
    .. '3,,-0.25,2026-11-22 10:00:02 UTC,99999\r\n', ".csv")
  local sum = c:import_file("web", "if_csv", p, { time_column = "created_at", types = { zip = "string" } })
  eq(sum.records, 3)
  eq(sum.lines, 3)
  eq(sum.skipped, 0)
  eq(sum.format, "csv")
  eq(sum.types, { id = "long", name = "string", score = "double", created_at = "string", zip = "string" })
  local rows = all_rows(c, "if_csv")
  eq(#rows, 3)
  eq(rows[1], { time = 1795341600, id = 1, name = "Smith, John", score = 1.5, created_at = "2026-11-22 10:00:00", zip = "01234" })
  eq(rows[2].name, 'multi\nline "quoted"')
  eq(rows[2].time, 1795341601)
  eq(rows[2].zip, nil, "an empty field is NULL (absent)")
  eq(math.type(rows[2].score), "float")
  eq(rows[3].name, nil)
  eq(rows[3].time, 1795341602)
  os.remove(p)
end)

test("import_file: tsv without a header, columns given, time_format, a column named time", function()
  t.reset()
  local c = t.client()
  new_table(c, "if_tsv")
  local p = t.write_tmp("22/11/2026 10:00\ta\\tb\t7\n23/11/2026 10:00\tc\t8\n", ".tsv")
  local sum = c:import_file("web", "if_tsv", p, { columns = { "day", "tag", "n" }, time_column = "day",
    time_format = "%d/%m/%Y %H:%M" })
  eq(sum.records, 2)
  local rows = all_rows(c, "if_tsv")
  eq(rows[1], { time = 1795341600, day = "22/11/2026 10:00", tag = "a\tb", n = 7 })
  eq(rows[2].time, 1795341600 + 86400)
  -- a column named time is the time; epoch seconds
  new_table(c, "if_time")
  local q = t.write_tmp("time,v\n1700000000,x\n1700000001,y\n", ".csv")
  eq(c:import_file("web", "if_time", q).records, 2)
  eq(all_rows(c, "if_time")[2], { time = 1700000001, v = "y" })
  -- no time at all: time_value, or a clear usage error
  new_table(c, "if_notime")
  local r = t.write_tmp("a,b\n1,2\n", ".csv")
  like(raises_kind("usage", c.import_file, c, "web", "if_notime", r).message, "time_column")
  like(raises_kind("usage", c.import_file, c, "web", "if_notime", r, { time_column = "nope" }).message, "not a column")
  eq(c:import_file("web", "if_notime", r, { time_value = 1700000000 }).records, 1)
  eq(all_rows(c, "if_notime")[1], { time = 1700000000, a = 1, b = 2 })
  os.remove(p); os.remove(q); os.remove(r)
end)

test("import_file: jsonl keeps JSON types; types coerce", function()
  t.reset()
  local c = t.client()
  new_table(c, "if_jsonl")
  local p = t.write_tmp('{"time": 1700000000, "user": "a", "n": 1, "tags": ["x"], "ok": true}\n\n'
    .. '{"time": "2026-11-22 10:00:00 UTC", "user": "b", "n": 2.5, "id": 42}\n', ".jsonl")
  local sum = c:import_file("web", "if_jsonl", p, { types = { id = "string" } })
  eq(sum.records, 2)
  local rows = all_rows(c, "if_jsonl")
  eq(rows[1], { time = 1700000000, user = "a", n = 1, tags = { "x" }, ok = true })
  eq(rows[2], { time = 1795341600, user = "b", n = 2.5, id = "42" })
  os.remove(p)
end)

test("import_file: bad lines stop with the line number, or are skipped and reported", function()
  t.reset()
  local c = t.client()
  new_table(c, "if_bad")
  local p = t.write_tmp("time,n\n1700000000,1\n1700000001,oops\n1700000002,3\nnot-a-time,4\n1700000004,5,extra\n"
    .. '1700000005,"open\n', ".csv")
  local e = raises_kind("bad_input", c.import_file, c, "web", "if_bad", p, { types = { n = "long" } })
  eq(e.line, 3)
  like(e.message, "line 3: column n: \"oops\" is not a long")
  like(e.message, "nothing was imported")
  eq(e.imported_records, 0)
  eq(#all_rows(c, "if_bad"), 0, "a stop imports no partial chunk")
  local sum = c:import_file("web", "if_bad", p, { on_error = "skip", types = { n = "long" } })
  eq(sum.records, 2)
  eq(sum.skipped, 4)
  local lines = {}
  for i, b in ipairs(sum.bad) do lines[i] = b.line end
  eq(lines, { 3, 5, 6, 7 })
  like(sum.bad[2].reason, "not%-a%-time")
  like(sum.bad[3].reason, "3 fields, but 2 columns")
  like(sum.bad[4].reason, "not closed")
  eq(#all_rows(c, "if_bad"), 2)
  -- inferred from the sample, n is a string column: "oops" is no error then
  eq(c:import_file("web", "if_bad", p, { on_error = "skip" }).types.n, "string")
  os.remove(p)
end)

test("import_file: a large file streams in several chunks; a re-run with the same unique_id adds nothing", function()
  t.reset()
  local c = t.client()
  new_table(c, "if_big")
  local p = os.tmpname() .. ".csv"
  local f = assert(io.open(p, "w"))
  f:write("time,id,user,comment\n")
  for i = 1, 20000 do
    f:write(1700000000 + i, ",", i, ",user_", i % 97, ',"a comment, number ', i, '"\n')
  end
  f:close()
  local sum = c:import_file("web", "if_big", p, { chunk_size = 64 * 1024, unique_id = "big_file_1" })
  eq(sum.records, 20000)
  ok(sum.chunks >= 5, "chunks: " .. sum.chunks)
  eq(c:table("web", "if_big").count, 20000)
  local again = c:import_file("web", "if_big", p, { chunk_size = 64 * 1024, unique_id = "big_file_1" })
  eq(again.unique_ids, sum.unique_ids)
  eq(c:table("web", "if_big").count, 20000)
  local rows = all_rows(c, "if_big")
  eq(rows[20000], { time = 1700020000, id = 20000, user = "user_" .. (20000 % 97), comment = "a comment, number 20000" })
  os.remove(p)
end)

test("import_file: argument and option checks", function()
  t.reset()
  local c = t.client()
  local p = t.write_tmp("time\n1\n", ".txt")
  like(raises_kind("usage", c.import_file, c, "web", "pageviews", p).message, "format")
  like(raises_kind("usage", c.import_file, c, "web", "pageviews", p, { format = "xml" }).message, "format")
  like(raises_kind("usage", c.import_file, c, "web", "pageviews", p, { format = "csv", on_error = "ignore" }).message, "on_error")
  like(raises_kind("usage", c.import_file, c, "web", "pageviews", p, { format = "csv", types = { a = "date" } }).message, "types.a")
  like(raises_kind("usage", c.import_file, c, "web", "pageviews", p, { format = "csv", time_colum = "x" }).message, "time_column")
  raises_kind("usage", c.import_file, c, "web", "pageviews", nil)
  raises_kind("io", c.import_file, c, "web", "pageviews", "/nonexistent/file.csv")
  raises_kind("not_found", c.import_file, c, "web", "nope_table", p, { format = "csv" })
  os.remove(p)
end)
