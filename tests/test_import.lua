-- streaming import (client:import, import_with_id) and bulk import sessions
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

local FAST = { interval = 0.01, max_interval = 0.02, progress = false }

local function new_table(c, name)
  c:request("POST", "/v3/table/create/web/" .. name .. "/log", { form = {} })
end

local function count(c, name) return c:table("web", name).count end

-- the last n records of web.<name> (oldest first), decoded from msgpack
local function tail(c, name, n)
  local body = c:request("GET", "/v3/table/tail/web/" .. name, { query = { count = n, format = "msgpack" }, raw = true })
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

-- the PUT requests in the fake's log whose path matches pat
local function puts(pat)
  local out = {}
  for _, r in ipairs(t.log()) do
    if r.method == "PUT" and r.path:find(pat) then out[#out + 1] = r end
  end
  return out
end

local function gen(n, extra)
  local i = 0
  return function()
    i = i + 1
    if i > n then return nil end
    local r = { time = 1700000000 + i, id = i, user = "user_" .. (i % 97), score = i / 4 }
    if extra then extra(r, i) end
    return r
  end
end

test("import sends the records as msgpack.gz and they arrive with their types", function()
  t.reset()
  local c = t.client()
  new_table(c, "imp_types")
  local rows = {
    { time = 1700000001, i = 42, neg = -7, big = math.maxinteger, f = 2.5, s = "héllo", yes = true, no = false,
      tags = { "a", "b" }, attrs = { k = "v", n = 1 }, gone = td.null },
    { time = 1700000002.0, i = 0, s = "" },
  }
  local sum = c:import("web", "imp_types", rows)
  eq(sum.records, 2)
  eq(sum.chunks, 1)
  eq(sum.database, "web")
  eq(sum.table, "imp_types")
  ok(sum.bytes > 0 and sum.raw_bytes > 0)
  like(sum.unique_id, "^%x+$")
  eq(sum.unique_ids, { sum.unique_id .. "-1" })
  eq(count(c, "imp_types"), 2)
  local got = tail(c, "imp_types", 10)
  eq(got[1].time, 1700000001)
  eq(got[1].i, 42)
  eq(got[1].neg, -7)
  eq(got[1].big, math.maxinteger)
  eq(got[1].f, 2.5)
  eq(got[1].s, "héllo")
  eq(got[1].yes, true)
  eq(got[1].no, false)
  eq(got[1].tags, { "a", "b" })
  eq(got[1].attrs, { k = "v", n = 1 })
  eq(got[1].gone, td.null)
  eq(got[2], { time = 1700000002, i = 0, s = "" })
  local p = puts("^/v3/table/import_with_id/")
  eq(#p, 1)
  eq(p[1].path, "/v3/table/import_with_id/web/imp_types/" .. sum.unique_id .. "-1/msgpack.gz")
  eq(p[1].headers["content-type"], "application/octet-stream")
  eq(p[1].body_size, sum.bytes)
end)

test("a small chunk_size gives several PUTs with distinct ids; every row arrives once", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  local sum = c:import("web", "pageviews", gen(3000), { chunk_size = 8192 })
  eq(sum.records, 3000)
  ok(sum.chunks >= 5, "chunks: " .. sum.chunks)
  eq(#sum.unique_ids, sum.chunks)
  local p = puts("^/v3/table/import_with_id/web/pageviews/")
  eq(#p, sum.chunks)
  local seen = {}
  for i, r in ipairs(p) do
    local id = r.path:match("/pageviews/([^/]+)/msgpack%.gz$")
    eq(id, sum.unique_id .. "-" .. i)
    ok(not seen[id], "unique id used twice: " .. id)
    seen[id] = true
  end
  eq(count(c, "pageviews"), before + 3000)
  local last = tail(c, "pageviews", 3000)
  for i = 1, 3000 do
    if last[i].id ~= i then error(("row %d is %s"):format(i, tostring(last[i].id))) end
  end
end)

test("re-running an import with the same unique_id adds nothing", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  local a = c:import("web", "pageviews", gen(2000), { unique_id = "daily_2026-11-22", chunk_size = 10000 })
  eq(a.unique_id, "daily_2026-11-22")
  eq(a.unique_ids[1], "daily_2026-11-22-1")
  eq(count(c, "pageviews"), before + 2000)
  local b = c:import("web", "pageviews", gen(2000), { unique_id = "daily_2026-11-22", chunk_size = 10000 })
  eq(b.unique_ids, a.unique_ids, "the same rows are cut into the same chunks")
  eq(count(c, "pageviews"), before + 2000)
  -- a different id is a different import
  c:import("web", "pageviews", gen(10), { unique_id = "daily_2026-11-23" })
  eq(count(c, "pageviews"), before + 2010)
end)

test("a 503 on a chunk's PUT is retried and no row is duplicated", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  t.fault { method = "PUT", path = "^/v3/table/import_with_id/", status = 503, times = 2 }
  local sum = c:import("web", "pageviews", gen(500))
  eq(sum.records, 500)
  eq(#puts("^/v3/table/import_with_id/"), 3)
  eq(count(c, "pageviews"), before + 500)
end)

test("a lost response after the server stored a chunk is retried without duplicates", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  -- the handler runs (rows are stored), then the answer is cut short
  t.fault { method = "PUT", path = "^/v3/table/import_with_id/.*-2/", action = "truncate", bytes = 5, times = 1 }
  t.fault { method = "PUT", path = "^/v3/table/import_with_id/.*-3/", action = "reset", times = 1 }
  local sum = c:import("web", "pageviews", gen(3000), { chunk_size = 20000 })
  ok(sum.chunks >= 3)
  eq(#puts("^/v3/table/import_with_id/"), sum.chunks + 2)
  eq(count(c, "pageviews"), before + 3000)
  local last = tail(c, "pageviews", 3000)
  eq(last[1].id, 1)
  eq(last[3000].id, 3000)
end)

test("unique_id = false uses the plain import, which is not retried", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  local sum = c:import("web", "pageviews", gen(10), { unique_id = false })
  eq(sum.unique_id, nil)
  eq(sum.unique_ids, {})
  eq(#puts("^/v3/table/import/web/pageviews/msgpack%.gz$"), 1)
  eq(count(c, "pageviews"), before + 10)
  t.fault { method = "PUT", path = "^/v3/table/import/", action = "reset", times = 1 }
  local e = raises_kind("network", c.import, c, "web", "pageviews", gen(10), { unique_id = false })
  eq(e.retryable, false)
  eq(#puts("^/v3/table/import/"), 2)
end)

test("records can come from a query result through an iterator", function()
  t.reset()
  local c = t.client()
  new_table(c, "from_query")
  local job = c:query("SELECT * -- fake_rows(250)", { db = "web" }):wait(FAST)
  local recs = job:records()
  local sum = c:import("web", "from_query", function()
    local r = recs()
    if r then r.time = 1700000000 + r.id end
    return r
  end)
  eq(sum.records, 250)
  eq(count(c, "from_query"), 250)
  local got = tail(c, "from_query", 1)[1]
  eq(got.id, 249)
  eq(got.name, "name_249")
  eq(got.time, 1700000249)
end)

test("import_with_id: chunk ids derive from the id; pre-encoded data goes as it is", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  local sum = c:import_with_id("web", "pageviews", "batch_7", { { time = 1, a = 1 }, { time = 2, a = 2 } })
  eq(sum.unique_ids, { "batch_7-1" })
  eq(count(c, "pageviews"), before + 2)
  local p <close> = require("td.core").packer {}
  p:add { time = 3, a = 3 }
  local body = p:finish()
  local s2 = c:import_with_id("web", "pageviews", "batch_8", nil, { data = body })
  eq(s2.unique_ids, { "batch_8" })
  eq(s2.bytes, #body)
  ok(s2.md5_hex)
  c:import_with_id("web", "pageviews", "batch_8", nil, { data = body })
  eq(count(c, "pageviews"), before + 3)
  eq(puts("^/v3/table/import_with_id/")[2].path, "/v3/table/import_with_id/web/pageviews/batch_8/msgpack.gz")
end)

test("bad arguments raise usage errors naming the argument or the record", function()
  t.reset()
  local c = t.client()
  like(raises_kind("usage", c.import, c, 42, "pageviews", {}).message, "bad argument 'db' to 'import'")
  like(raises_kind("usage", c.import, c, "web", nil, {}).message, "bad argument 'table' to 'import'")
  like(raises_kind("usage", c.import, c, "web", "pageviews", "rows").message, "bad argument 'rows' to 'import'")
  like(raises_kind("usage", c.import, c, "web", "pageviews", { time = 1, a = 1 }).message, "not one record")
  like(raises_kind("usage", c.import, c, "web", "pageviews", {}, { chunk = 1 }).message, "unknown option 'chunk'")
  like(raises_kind("usage", c.import, c, "web", "pageviews", {}, { chunk_size = 0 }).message, "chunk_size")
  like(raises_kind("usage", c.import, c, "web", "pageviews", {}, { unique_id = "a/b" }).message, "unique_id")
  like(raises_kind("usage", c.import_with_id, c, "web", "pageviews", nil, {}).message,
    "bad argument 'unique_id' to 'import_with_id'")
  local rows = { { time = 1 }, { time = 2 }, "oops" }
  like(raises_kind("usage", c.import, c, "web", "pageviews", rows).message,
    "^import: record 3: a record must be a table %(got string%)")
  like(raises_kind("usage", c.import, c, "web", "pageviews", { { time = 1 }, { a = 1 } }).message,
    "record 2: no 'time' field")
  like(raises_kind("usage", c.import, c, "web", "pageviews", gen(5, function(r, i)
    if i == 4 then r.time = 17.5 end
  end)).message, "record 4: 'time' must be an integer")
  eq(#puts("^/v3/table/"), 0, "nothing was uploaded")
  raises_kind("not_found", c.import, c, "web", "no_such_table", gen(1))
end)

test("a bad record after some chunks says how much was imported", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  local e = raises_kind("usage", c.import, c, "web", "pageviews", gen(3000, function(r, i)
    if i == 2500 then r.time = nil end
  end), { chunk_size = 8192 })
  like(e.message, "record 2500: no 'time' field")
  ok(e.imported_records > 0 and e.imported_records < 2500)
  like(e.message, e.imported_records .. " records in " .. e.imported_chunks .. " chunks were imported")
  eq(count(c, "pageviews"), before + e.imported_records)
end)

test("a chunk that keeps failing stops the import; the error says what was stored", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  t.fault { method = "PUT", path = "^/v3/table/import_with_id/.*-3/", status = 500, times = -1 }
  local e = raises_kind("server", c.import, c, "web", "pageviews", gen(3000), { chunk_size = 8192 })
  eq(e.imported_chunks, 2)
  ok(e.imported_records > 0)
  eq(count(c, "pageviews"), before + e.imported_records)
  eq(#puts("/.*-4/msgpack"), 0, "nothing after the failed chunk")
end)

test("a query_only key cannot import", function()
  t.reset()
  local c = t.client { apikey = t.RO_KEY }
  local e = raises_kind("forbidden", c.import, c, "web", "pageviews", gen(3))
  eq(e.status, 403)
  eq(e.imported_records, 0)
  ok(not tostring(e):find(t.RO_KEY, 1, true), "the key is not in the message")
  raises_kind("forbidden", c.create_bulk_import, c, "ro_session", "web", "pageviews")
end)

test("importing 200k generated rows keeps the Lua heap flat", function()
  t.reset()
  local c = t.client()
  new_table(c, "big_import")
  collectgarbage()
  local heap_start, heap_peak = collectgarbage("count"), 0
  local n = 0
  local sum = c:import("web", "big_import", function()
    n = n + 1
    if n > 200000 then return nil end
    if n % 20000 == 0 then heap_peak = math.max(heap_peak, collectgarbage("count")) end
    return { time = 1700000000 + n, id = n, user = "user_" .. (n * 7919 % 100000),
             path = "/items/" .. (n % 5000), score = n / 7, ok = n % 2 == 0 }
  end, { chunk_size = 1024 * 1024 })
  eq(sum.records, 200000)
  ok(sum.chunks >= 10, "chunks: " .. sum.chunks)
  eq(count(c, "big_import"), 200000)
  -- the rows as Lua tables would take tens of MiB; the import holds one chunk
  ok(heap_peak - heap_start < 16 * 1024, ("Lua heap grew by %.0f KiB"):format(heap_peak - heap_start))
end)

-- ---------------------------------------------------------------------------
-- bulk import

test("bulk import life cycle: create, upload, freeze, perform, error records, commit", function()
  t.reset()
  local c = t.client()
  local before = count(c, "pageviews")
  eq(c:create_bulk_import("sess_one", "web", "pageviews").name, "sess_one")
  local s = c:bulk_import("sess_one")
  eq(s.status, "uploading")
  eq(s.database, "web")
  eq(s.table, "pageviews")

  local rows = {}
  for i = 1, 100 do rows[i] = { time = 1700000000 + i, n = i } end
  local up = c:upload_bulk_import_part("sess_one", "part_a", rows)
  eq(up.records, 100)
  ok(up.bytes > 0)
  eq(c:upload_bulk_import_part("sess_one", "part.b", gen(50)).records, 50)
  -- a part the caller encoded: two records without an integer time
  local p <close> = require("td.core").packer { require_time = false }
  p:add { time = 1700000500, n = 500 }
  p:add { n = 501 }
  p:add { time = "later", n = 502 }
  c:upload_bulk_import_part("sess_one", "part_c", nil, { data = p:finish() })
  c:upload_bulk_import_part("sess_one", "part_d", { { time = 1, n = 1 } })
  c:delete_bulk_import_part("sess_one", "part_d")
  local parts = c:bulk_import_parts("sess_one")
  table.sort(parts)
  eq(parts, { "part.b", "part_a", "part_c" })

  c:freeze_bulk_import("sess_one")
  eq(c:bulk_import("sess_one").upload_frozen, true)
  raises_kind("bad_request", c.upload_bulk_import_part, c, "sess_one", "late", gen(1))
  c:unfreeze_bulk_import("sess_one")
  eq(c:bulk_import("sess_one").upload_frozen, false)
  c:freeze_bulk_import("sess_one")

  local job = c:perform_bulk_import("sess_one")
  eq(job.type, "bulk_import_perform")
  like(job.job_id, "^%d+$")
  job:wait(FAST)
  eq(job.status, "success")
  s = c:bulk_import("sess_one")
  eq(s.status, "ready")
  eq(s.valid_records, 151)
  eq(s.error_records, 2)
  eq(s.job_id, job.job_id)

  local errs = {}
  for rec in c:bulk_import_error_records("sess_one") do errs[#errs + 1] = rec end
  table.sort(errs, function(a, b) return a.n < b.n end)
  eq(errs, { { n = 501 }, { time = "later", n = 502 } })

  eq(count(c, "pageviews"), before, "nothing is visible before the commit")
  s = c:commit_bulk_import("sess_one", { wait = true, interval = 0.01 })
  eq(s.status, "committed")
  eq(count(c, "pageviews"), before + 151)

  local names = {}
  for _, b in ipairs(c:bulk_imports()) do names[#names + 1] = b.name end
  eq(names, { "sess_one" })
  c:delete_bulk_import("sess_one")
  eq(c:bulk_imports(), {})
  raises_kind("not_found", c.bulk_import, c, "sess_one")
end)

test("bulk import: a session without error records streams none; commit without wait", function()
  t.reset()
  local c = t.client()
  c:create_bulk_import("sess_two", "web", "pageviews")
  c:upload_bulk_import_part("sess_two", "only", gen(20))
  c:perform_bulk_import("sess_two", { priority = 1 }):wait(FAST)
  local n = 0
  for _ in c:bulk_import_error_records("sess_two") do n = n + 1 end
  eq(n, 0)
  local r = c:commit_bulk_import("sess_two")
  eq(r.name, "sess_two")
  local st = c:bulk_import("sess_two").status
  ok(st == "committing" or st == "committed", st)
end)

test("bulk import: an upload retried after a 503 stores the part once", function()
  t.reset()
  local c = t.client()
  c:create_bulk_import("sess_three", "web", "pageviews")
  t.fault { method = "PUT", path = "^/v3/bulk_import/upload_part/", status = 503, times = 1 }
  c:upload_bulk_import_part("sess_three", "p1", gen(30))
  eq(#puts("^/v3/bulk_import/upload_part/sess_three/p1$"), 2)
  eq(c:bulk_import_parts("sess_three"), { "p1" })
  c:perform_bulk_import("sess_three"):wait(FAST)
  eq(c:bulk_import("sess_three").valid_records, 30)
end)

test("bulk import: bad arguments and refused states", function()
  t.reset()
  local c = t.client()
  like(raises_kind("usage", c.create_bulk_import, c, "sess_x", "web").message,
    "bad argument 'table' to 'create_bulk_import'")
  like(raises_kind("usage", c.upload_bulk_import_part, c, "sess_x", "a/b", {}).message, "cannot contain '/'")
  like(raises_kind("usage", c.upload_bulk_import_part, c, "sess_x", "p", 5).message,
    "bad argument 'rows' to 'upload_bulk_import_part'")
  like(raises_kind("usage", c.upload_bulk_import_part, c, "sess_x", "p", { { a = 1 } }).message,
    "record 1: no 'time' field")
  like(raises_kind("usage", c.commit_bulk_import, c, "sess_x", { wait = "yes" }).message, "opts.wait")
  raises_kind("not_found", c.bulk_import_parts, c, "sess_x")
  c:create_bulk_import("sess_x", "web", "pageviews")
  raises_kind("conflict", c.create_bulk_import, c, "sess_x", "web", "pageviews")
  -- not performed yet: commit is refused before any waiting
  raises_kind("bad_request", c.commit_bulk_import, c, "sess_x", { wait = true, interval = 0.01 })
  raises_kind("not_found", c.delete_bulk_import_part, c, "sess_x", "nope")
end)

test("the module-level shortcut td.import exists", function()
  eq(type(td.import), "function")
end)
