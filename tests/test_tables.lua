-- databases and tables: create, change, tail, move, delete, recover
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind
local find = t.find_named
local last_request = t.last_request

test("create_database and delete_database", function()
  t.reset()
  local c = t.client()
  eq(c:create_database("staging_db"), "staging_db")
  ok(find(c:databases(), "staging_db"), "listed after create")
  local e = raises_kind("conflict", c.create_database, c, "staging_db")
  eq(e.status, 409)
  like(e.message, "already exists")
  eq(c:create_database("staging_db", { if_not_exists = true }), "staging_db")
  eq(c:delete_database("staging_db"), "staging_db")
  eq(find(c:databases(), "staging_db"), nil, "gone after delete")
  like(raises_kind("not_found", c.delete_database, c, "staging_db").message, "staging_db")
end)

test("database writes: TD's message for a bad name, forbidden for a query-only key", function()
  t.reset()
  local c = t.client()
  local e = raises_kind("bad_request", c.create_database, c, "Bad-Name")
  like(e.message, "lower%-case")
  local ro = t.client { apikey = t.RO_KEY }
  eq(raises_kind("forbidden", ro.create_database, ro, "fresh_db").status, 403)
  raises_kind("forbidden", ro.delete_database, ro, "web")
  ok(find(c:databases(), "web"), "web survives")
end)

test("database argument errors name the argument", function()
  local c = t.client()
  like(raises_kind("usage", c.create_database, c, 42).message, "'name'")
  like(raises_kind("usage", c.create_database, c, "").message, "'name'")
  like(raises_kind("usage", c.create_database, c, "x_db", { colour = "red" }).message, "colour")
  like(raises_kind("usage", c.delete_database, c).message, "'name'")
end)

test("create_table sends the schema as TD's JSON and the options as a form", function()
  t.reset()
  local c = t.client()
  local ref = c:create_table("web", "events", {
    schema = { { "user_id", "long" }, { name = "url", type = "string", alias = "page" } },
    expire_days = 30, include_v = false, description = "click events",
  })
  eq(ref, { database = "web", table = "events", type = "log" })
  local r = ok(last_request("POST", "^/v3/table/create/web/events$"))
  eq(r.form.schema, '[["user_id","long"],["url","string","page"]]')
  eq(r.form.expire_days, "30")
  eq(r.form.include_v, "false")
  local tb = c:table("web", "events")
  eq(tb.schema, { { "user_id", "long" }, { "url", "string", "page" } })
  eq(tb.expire_days, 30)
  eq(tb.include_v, false)
  eq(tb.description, "click events")
  eq(type(tb.id), "string", "ids are strings")
end)

test("create_table with a type uses the typed path; idempotent_key makes a repeat succeed", function()
  t.reset()
  local c = t.client()
  c:create_table("web", "typed_tbl", { type = "log", idempotent_key = "k-1" })
  local r = ok(last_request("POST", "^/v3/table/create/web/typed_tbl/log$"))
  eq(r.query.idempotent_key, "k-1")
  eq(c:create_table("web", "typed_tbl", { type = "log", idempotent_key = "k-1" }).table, "typed_tbl")
  raises_kind("conflict", c.create_table, c, "web", "typed_tbl")
  local again = c:create_table("web", "typed_tbl", { if_not_exists = true })
  eq(again.existed, true)
  like(t.off_contract(raises_kind, "bad_request", c.create_table, c, "web", "other_tbl", { type = "item" }).message, "item")
  like(raises_kind("not_found", c.create_table, c, "nope_db", "tbl").message, "nope_db")
end)

test("an idempotent create_table is retried after a lost answer; a plain one is resolved by its name", function()
  t.reset()
  local c = t.client()
  t.fault { method = "POST", path = "^/v3/table/create/web/retried_tbl", action = "truncate", bytes = 3 }
  c:create_table("web", "retried_tbl", { idempotent_key = "once" })
  ok(find(c:tables("web"), "retried_tbl"))
  t.fault { method = "POST", path = "^/v3/table/create/web/plain_tbl", action = "truncate", bytes = 3 }
  -- the first try created it: TD is asked for the table, nothing is sent again
  eq(c:create_table("web", "plain_tbl").table, "plain_tbl")
  eq(#t.requests("POST", "^/v3/table/create/web/plain_tbl"), 1)
end)

test("schema arguments are validated before anything is sent", function()
  local c = t.client()
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { schema = "nope" }).message, "JSON array")
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { schema = { { "a" } } }).message, "column #1.*type")
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { schema = { { type = "long" } } }).message, "name")
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { schema = { "a:long" } }).message, "column #1")
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { schema = { x = { "a", "long" } } }).message, "array")
  like(raises_kind("usage", c.update_schema, c, "web", "pageviews").message, "'schema'")
  like(raises_kind("usage", c.create_table, c, "web", "tbl", { expire_days = "30" }).message, "opts.expire_days")
  like(raises_kind("usage", c.create_table, c, "web", 7).message, "'name'")
end)

test("a schema TD refuses raises bad_request with TD's message", function()
  t.reset()
  local c = t.client()
  local e = raises_kind("bad_request", c.create_table, c, "web", "bad_tbl", { schema = { { "v", "string" } } })
  like(e.message, "reserved")
end)

test("delete_table, swap_table and rename_table", function()
  t.reset()
  local c = t.client()
  c:create_table("web", "aaa", { schema = { { "a", "string" } } })
  c:create_table("web", "bbb", { schema = { { "b", "string" } } })
  eq(c:swap_table("web", "aaa", "bbb"), { database = "web", table1 = "aaa", table2 = "bbb" })
  eq(c:table("web", "aaa").schema, { { "b", "string" } })
  eq(c:rename_table("web", "aaa", "ccc").table, "ccc")
  ok(find(c:tables("web"), "ccc"))
  eq(find(c:tables("web"), "aaa"), nil)
  raises_kind("conflict", c.rename_table, c, "web", "ccc", "bbb")
  c:rename_table("web", "ccc", "bbb", { overwrite = true })
  eq(c:table("web", "bbb").schema, { { "b", "string" } })
  eq(c:delete_table("web", "bbb"), { database = "web", table = "bbb", type = "log" })
  raises_kind("not_found", c.table, c, "web", "bbb")
  raises_kind("not_found", c.delete_table, c, "web", "bbb")
  raises_kind("not_found", c.swap_table, c, "web", "pageviews", "nope_tbl")
end)

test("update_table, update_schema and append_schema", function()
  t.reset()
  local c = t.client()
  c:create_table("web", "upd", { schema = { { "a", "string" } } })
  c:update_table("web", "upd", { expire_days = 7, description = "d" })
  local tb = c:table("web", "upd")
  eq(tb.expire_days, 7)
  eq(tb.description, "d")
  c:update_table("web", "upd", { expire_days = 0 })
  eq(c:table("web", "upd").expire_days, nil, "0 turns expiry off")
  c:update_schema("web", "upd", { { "x", "long" }, { "y", "double" } })
  eq(c:table("web", "upd").schema, { { "x", "long" }, { "y", "double" } })
  c:append_schema("web", "upd", { { "y", "double" }, { name = "z", type = "string" } })
  eq(c:table("web", "upd").schema, { { "x", "long" }, { "y", "double" }, { "z", "string" } })
  eq(c:update_table("web", "upd", { name = "upd_renamed" }).table, "upd_renamed")
  like(raises_kind("usage", c.update_table, c, "web", "upd_renamed", {}).message, "nothing to update")
  raises_kind("not_found", c.update_schema, c, "web", "upd", { { "x", "long" } })
end)

test("table writes are forbidden for a query-only key", function()
  t.reset()
  local ro = t.client { apikey = t.RO_KEY }
  raises_kind("forbidden", ro.create_table, ro, "web", "ro_tbl")
  raises_kind("forbidden", ro.delete_table, ro, "web", "pageviews")
  raises_kind("forbidden", ro.update_schema, ro, "web", "pageviews", { { "a", "string" } })
  raises_kind("forbidden", ro.swap_table, ro, "sample_datasets", "www_access", "nasdaq")
  eq(#ro:tail("web", "pageviews", { count = 1 }), 1, "reading still works")
end)

test("tail returns the last records as maps", function()
  t.reset()
  local c = t.client()
  local recs = c:tail("sample_datasets", "www_access", { count = 3 })
  eq(#recs, 3)
  for _, r in ipairs(recs) do
    eq(type(r.time), "number")
    eq(type(r.path), "string")
  end
  ok(recs[1].time <= recs[3].time, "oldest first")
  eq(#c:tail("sample_datasets", "www_access"), 10, "10 by default")
  local r = ok(last_request("GET", "^/v3/table/tail/sample_datasets/www_access$"))
  eq(r.query.format, "msgpack")
  eq(#c:tail("web", "pageviews", { count = 0 }), 0)
  raises_kind("not_found", c.tail, c, "web", "nope_tbl")
  like(raises_kind("usage", c.tail, c, "web", "pageviews", { count = -1 }).message, "count")
end)

test("table_distribution", function()
  t.reset()
  local c = t.client()
  local d = c:table_distribution("sample_datasets", "nasdaq")
  ok(d.bucket_count > 0)
  eq(type(d.partition_function), "string")
  eq(d.columns[1].name, "symbol")
  raises_kind("not_found", c.table_distribution, c, "web", "pageviews")
end)

test("change_database moves a table", function()
  t.reset()
  local c = t.client()
  c:create_database("archive_db")
  eq(c:change_database("web", "pageviews", "archive_db"), { database = "archive_db", table = "pageviews", type = "log" })
  eq(c:table("archive_db", "pageviews").count, 378)
  raises_kind("not_found", c.table, c, "web", "pageviews")
  raises_kind("not_found", c.change_database, c, "web", "pageviews", "archive_db")
  like(raises_kind("usage", c.change_database, c, "web", "pageviews").message, "'dest_db'")
end)

test("transfer_table sends the destination key in Secondary-Authorization and never shows it", function()
  t.reset()
  local c = t.client()
  local dest_key = "1/" .. ("c"):rep(40)
  t.reset { add_key = dest_key }
  local out = c:transfer_table("web", "pageviews", { dest_apikey = dest_key, dest_database = "sample_datasets", dest_table = "moved_pv", idempotent_key = "tx-1" })
  eq(out, { database_name = "sample_datasets", table_name = "moved_pv" })
  local r = ok(last_request("POST", "^/v3/table/transfer/web/pageviews$"))
  eq(r.headers["secondary-authorization"] == "TD1 " .. dest_key, true, "header carries the key")
  eq(r.form.dest_database_name, "sample_datasets")
  eq(c:table("sample_datasets", "moved_pv").count, 378)
  -- a repeat with the same idempotent_key succeeds without moving anything else
  eq(c:transfer_table("web", "pageviews", { dest_apikey = dest_key, dest_database = "sample_datasets", dest_table = "moved_pv", idempotent_key = "tx-1" }).table_name, "moved_pv")
  local wrong = "9/" .. ("d"):rep(40)
  local e = raises_kind("auth", c.transfer_table, c, "sample_datasets", "nasdaq", { dest_apikey = wrong, dest_database = "web" })
  eq(tostring(e):find(wrong, 1, true), nil)
  eq(tostring(e):find(("d"):rep(40), 1, true), nil)
  like(raises_kind("usage", c.transfer_table, c, "web", "x_tbl", { dest_database = "web" }).message, "dest_apikey")
  like(raises_kind("usage", c.transfer_table, c, "web", "x_tbl").message, "'opts'")
end)

test("deleted_tables pages through TD's cursor; recover_table brings one back", function()
  t.reset()
  local c = t.client()
  c:create_database("trash_db")
  local names = {}
  for i = 1, 5 do
    names[i] = "trash_" .. i
    c:create_table("trash_db", names[i])
    c:delete_table("trash_db", names[i])
  end
  c:delete_table("sample_datasets", "nasdaq")
  local seen, ids = {}, {}
  for tb in c:deleted_tables { page_size = 2 } do
    ok(not ids[tb.id], "no duplicates")
    ids[tb.id] = true
    seen[#seen + 1] = tb.name
    eq(type(tb.id), "string")
  end
  eq(#seen, 6)
  local pages = 0
  for _, r in ipairs(t.log()) do if r.path == "/v3/table/deleted" then pages = pages + 1 end end
  eq(pages, 3, "three pages of two")
  local only = {}
  for tb in c:deleted_tables { database = "trash_db", page_size = 2 } do only[#only + 1] = tb.name end
  eq(only, names)
  local n = 0
  for _ in c:deleted_tables { limit = 4, page_size = 3 } do n = n + 1 end
  eq(n, 4)

  local victim
  for tb in c:deleted_tables { database = "trash_db" } do if tb.name == "trash_3" then victim = tb end end
  c:create_table("trash_db", "trash_3")
  raises_kind("conflict", c.recover_table, c, victim.id)
  local rec = c:recover_table(victim.id, { table_name = "trash_3_back" })
  eq(rec.name, "trash_3_back")
  eq(rec.id, victim.id)
  ok(find(c:tables("trash_db"), "trash_3_back"))
  raises_kind("not_found", c.recover_table, c, victim.id)
  raises_kind("not_found", c.recover_table, c, 999999)
  like(raises_kind("usage", c.recover_table, c, { 1 }).message, "'table_id'")
end)
