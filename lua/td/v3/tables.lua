--- td.v3.tables: creating, changing, reading the tail of, moving, deleting
-- and recovering tables. (Listing and showing tables: td/v3/databases.lua.)
-- Schemas are given as Lua arrays, either
--   {{"user_id", "long"}, {"name", "string", "alias"}, ...}   or
--   {{name = "user_id", type = "long", alias =, description =}, ...}
-- and are sent to TD as its JSON form [[name, type(, alias(, description))], ...].
local core = require "td.core"
local errors = require "td.errors"
local http = require "td.http"
local json = require "cjson.safe"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}
local name_arg, usage = args.name, args.usage
local td_null = core.null

--- Validate a schema argument and return TD's JSON text for it.
local function schema_json(fname, schema)
  if type(schema) == "string" then
    local decoded = json.decode(schema)
    if type(decoded) ~= "table" then
      usage(("bad argument 'schema' to '%s' (a JSON array of [name, type] expected)"):format(fname))
    end
    schema = decoded
  end
  args.array(fname, "schema", schema)
  local cols = {}
  for i, col in ipairs(schema) do
    local where = ("%s: schema column #%d"):format(fname, i)
    if type(col) ~= "table" then usage(where .. " must be a table ({name, type} or {name =, type =})") end
    local name, typ, alias, desc
    if col[1] ~= nil then
      name, typ, alias, desc = col[1], col[2], col[3], col[4]
      if col[5] ~= nil then usage(where .. " has more than 4 items (name, type, alias, description)") end
    else
      name, typ, alias, desc = col.name, col.type, col.alias, col.description
    end
    if type(name) ~= "string" or name == "" then usage(where .. " needs a non-empty name") end
    if type(typ) ~= "string" or typ == "" then usage(where .. (" (%s) needs a type such as \"string\" or \"long\""):format(name)) end
    if alias ~= nil and type(alias) ~= "string" then usage(where .. (" (%s): alias must be a string"):format(name)) end
    if desc ~= nil and type(desc) ~= "string" then usage(where .. (" (%s): description must be a string"):format(name)) end
    if desc ~= nil and alias == nil then alias = name end
    local c = { name, typ }
    if alias ~= nil then c[3] = alias end
    if desc ~= nil then c[4] = desc end
    cols[i] = c
  end
  if #cols == 0 then return "[]" end
  return (assert(json.encode(cols)))
end

local function ref(d)
  return shape.object(d, {})
end

local CREATE_OPTS = {
  type = true, schema = true, expire_days = true, include_v = true, description = true,
  idempotent_key = true, source_table = true, including_properties = true, detect_schema = true,
  if_not_exists = true,
}

--- client:create_table(db, name, {type =, schema =, expire_days =, include_v =,
-- description =, detect_schema =, idempotent_key =, source_table =,
-- including_properties =, if_not_exists =}) -> {database, table, type}.
-- POST /v3/table/create/:db/:table (or .../:type when `type` is given; TD
-- knows only "log"). With an idempotent_key a retried request cannot fail
-- as a duplicate, so it is retried like a read. if_not_exists = true turns
-- "already exists" into success.
function M:create_table(db, name, opts)
  name_arg("create_table", "db", db)
  name_arg("create_table", "name", name)
  opts = args.opts("create_table", opts, CREATE_OPTS)
  args.fields("create_table", opts, {
    type = "string", expire_days = "integer", include_v = "boolean", description = "string",
    idempotent_key = "string", source_table = "string", including_properties = "boolean",
    detect_schema = "boolean", if_not_exists = "boolean",
  })
  local path = opts.type and http.path("/v3/table/create/%s/%s/%s", db, name, opts.type)
    or http.path("/v3/table/create/%s/%s", db, name)
  local ok, d = pcall(http.request, self, {
    method = "POST", path = path,
    query = { idempotent_key = opts.idempotent_key, source_table = opts.source_table,
              including_properties = opts.including_properties },
    form = {
      expire_days = opts.expire_days, include_v = opts.include_v, description = opts.description,
      detect_schema = opts.detect_schema,
      schema = opts.schema ~= nil and schema_json("create_table", opts.schema) or nil,
    },
    idempotent = opts.idempotent_key ~= nil,
  })
  if not ok then
    if opts.if_not_exists and errors.is(d, "conflict") then
      return { database = db, table = name, type = opts.type or "log", existed = true }
    end
    error(d, 0)
  end
  return ref(d)
end

--- client:delete_table(db, name) -> {database, table, type}
-- (POST /v3/table/delete/:db/:table; recoverable: see deleted_tables).
function M:delete_table(db, name)
  name_arg("delete_table", "db", db)
  name_arg("delete_table", "name", name)
  return ref(http.request(self, { method = "POST", path = http.path("/v3/table/delete/%s/%s", db, name), form = {} }))
end

--- client:swap_table(db, a, b) -> {database, table1, table2}: the two tables
-- exchange names (and so contents) in one step (POST /v3/table/swap).
function M:swap_table(db, a, b)
  name_arg("swap_table", "db", db)
  name_arg("swap_table", "a", a)
  name_arg("swap_table", "b", b)
  return ref(http.request(self, { method = "POST", path = http.path("/v3/table/swap/%s/%s/%s", db, a, b), form = {} }))
end
M.swap_tables = M.swap_table

--- client:rename_table(db, from, to, {overwrite =}) -> {database, table, type}
-- (POST /v3/table/rename). overwrite = true replaces an existing `to`.
function M:rename_table(db, from, to, opts)
  name_arg("rename_table", "db", db)
  name_arg("rename_table", "from", from)
  name_arg("rename_table", "to", to)
  opts = args.opts("rename_table", opts, { overwrite = true })
  args.fields("rename_table", opts, { overwrite = "boolean" })
  return ref(http.request(self, {
    method = "POST", path = http.path("/v3/table/rename/%s/%s/%s", db, from, to),
    form = { overwrite = opts.overwrite },
  }))
end

local UPDATE_OPTS = {
  expire_days = "integer", include_v = "boolean", description = "string", schema = "table",
  detect_schema = "boolean", name = "string", overwrite = "boolean", ignore_duplicate_schema = "boolean",
}

--- client:update_table(db, name, {expire_days =, include_v =, description =,
-- schema =, detect_schema =, name =, overwrite =, ignore_duplicate_schema =})
-- -> {database, table, type}. expire_days = 0 turns expiry off; `name`
-- renames (overwrite = true replaces an existing table of that name).
function M:update_table(db, name, opts)
  name_arg("update_table", "db", db)
  name_arg("update_table", "name", name)
  local known = {}
  for k in pairs(UPDATE_OPTS) do known[k] = true end
  opts = args.opts("update_table", opts, known)
  local spec = {}
  for k, v in pairs(UPDATE_OPTS) do spec[k] = v end
  spec.schema = nil
  args.fields("update_table", opts, spec)
  if next(opts) == nil then usage("update_table: nothing to update (opts is empty)") end
  local form = args.pick(opts, { "expire_days", "include_v", "description", "detect_schema", "name",
    "overwrite", "ignore_duplicate_schema" })
  if opts.schema ~= nil then form.schema = schema_json("update_table", opts.schema) end
  return ref(http.request(self, { method = "POST", path = http.path("/v3/table/update/%s/%s", db, name), form = form }))
end

--- client:update_schema(db, name, schema, {ignore_duplicate_schema =}) ->
-- {database, table, type}: replaces the table's schema
-- (POST /v3/table/update-schema).
function M:update_schema(db, name, schema, opts)
  name_arg("update_schema", "db", db)
  name_arg("update_schema", "name", name)
  if schema == nil then usage("bad argument 'schema' to 'update_schema' (array expected, got no value)") end
  opts = args.opts("update_schema", opts, { ignore_duplicate_schema = true })
  args.fields("update_schema", opts, { ignore_duplicate_schema = "boolean" })
  return ref(http.request(self, {
    method = "POST", path = http.path("/v3/table/update-schema/%s/%s", db, name),
    form = { schema = schema_json("update_schema", schema), ignore_duplicate_schema = opts.ignore_duplicate_schema },
  }))
end

--- client:append_schema(db, name, schema) -> {database, table, type}: adds
-- columns to the table's schema; columns it has already are kept as they
-- are (POST /v3/table/append-schema).
function M:append_schema(db, name, schema)
  name_arg("append_schema", "db", db)
  name_arg("append_schema", "name", name)
  if schema == nil then usage("bad argument 'schema' to 'append_schema' (array expected, got no value)") end
  return ref(http.request(self, {
    method = "POST", path = http.path("/v3/table/append-schema/%s/%s", db, name),
    form = { schema = schema_json("append_schema", schema) },
  }))
end

--- client:tail(db, name, {count = 10}) -> array of the table's last records
-- (maps, oldest first; NULL columns absent). GET /v3/table/tail as msgpack.
function M:tail(db, name, opts)
  name_arg("tail", "db", db)
  name_arg("tail", "name", name)
  opts = args.opts("tail", opts, { count = true })
  args.fields("tail", opts, { count = "integer" })
  if opts.count and opts.count < 0 then usage("tail: count must not be negative") end
  local body = http.request(self, {
    path = http.path("/v3/table/tail/%s/%s", db, name),
    query = { count = opts.count, format = "msgpack" },
    accept = "application/x-msgpack, application/octet-stream", raw = true,
  })
  local dec = core.decoder { gzip = false }
  local ok, err = pcall(function()
    dec:feed(body)
    dec:finish()
  end)
  if not ok then errors.raise { kind = "json", message = "table tail: " .. tostring(err) } end
  local out = {}
  while true do
    local okr, rec = pcall(dec.next, dec)
    if not okr then
      errors.raise { kind = "json", message = ("table tail: undecodable msgpack after %d records (%s)"):format(#out, tostring(rec)) }
    end
    if rec == nil then break end
    if type(rec) == "table" then
      for k, v in pairs(rec) do if v == td_null then rec[k] = nil end end
    end
    out[#out + 1] = rec
  end
  return out
end

--- client:table_distribution(db, name) -> {bucket_count, partition_function,
-- columns = {{key, type, name}, ...}} (raises not_found when the table has none).
function M:table_distribution(db, name)
  name_arg("table_distribution", "db", db)
  name_arg("table_distribution", "name", name)
  return (http.request(self, { path = http.path("/v3/table/distribution/%s/%s", db, name) }))
end

--- client:change_database(db, name, dest_db) -> {database, table, type}:
-- moves the table into another database of the account
-- (POST /v3/table/change_database).
function M:change_database(db, name, dest_db)
  name_arg("change_database", "db", db)
  name_arg("change_database", "name", name)
  name_arg("change_database", "dest_db", dest_db)
  return ref(http.request(self, {
    method = "POST", path = http.path("/v3/table/change_database/%s/%s", db, name),
    form = { dest_database_name = dest_db },
  }))
end

--- client:transfer_table(db, name, {dest_apikey =, dest_database =,
-- dest_table =, idempotent_key =}) -> {database_name, table_name}: moves the
-- table to another account (POST /v3/table/transfer; limited access). The
-- destination account's key goes in the Secondary-Authorization header and
-- is masked like our own key. dest_table defaults to the table's name.
function M:transfer_table(db, name, opts)
  name_arg("transfer_table", "db", db)
  name_arg("transfer_table", "name", name)
  if type(opts) ~= "table" then
    usage(("bad argument 'opts' to 'transfer_table' (table expected, got %s)"):format(opts == nil and "no value" or type(opts)))
  end
  opts = args.opts("transfer_table", opts, { dest_apikey = true, dest_database = true, dest_table = true, idempotent_key = true })
  args.fields("transfer_table", opts, { dest_table = "string", idempotent_key = "string" })
  if type(opts.dest_apikey) ~= "string" or opts.dest_apikey == "" then
    usage("transfer_table: opts.dest_apikey (the destination account's API key) is required")
  end
  redact.add(opts.dest_apikey)
  if type(opts.dest_database) ~= "string" or opts.dest_database == "" then
    usage("transfer_table: opts.dest_database is required")
  end
  local d = http.request(self, {
    method = "POST", path = http.path("/v3/table/transfer/%s/%s", db, name),
    headers = { "Secondary-Authorization: TD1 " .. opts.dest_apikey },
    form = { dest_database_name = opts.dest_database, dest_table_name = opts.dest_table or name,
             idempotent_key = opts.idempotent_key },
    idempotent = opts.idempotent_key ~= nil,
  })
  return shape.object(d, {})
end

--- client:deleted_tables{database =, database_id =, page_size = 100, limit =}
-- -> iterator over deleted, recoverable tables ({id, name, database_id,
-- database_name, deleted_at, created_at}), following TD's cursor_id pages.
--   for t in c:deleted_tables{ database = "web" } do print(t.id, t.name) end
function M:deleted_tables(opts)
  opts = args.opts("deleted_tables", opts, { database = true, database_id = true, page_size = true, limit = true })
  args.fields("deleted_tables", opts, { database = "string", database_id = "id", page_size = "integer", limit = "integer" })
  local size = opts.page_size or 100
  if size < 1 or size > 100 then usage("deleted_tables: page_size must be between 1 and 100") end
  local dbid = opts.database_id
  if opts.database then dbid = self:database(opts.database).id end
  local buf, i, cursor, done, count = {}, 1, nil, false, 0
  return function()
    if opts.limit and count >= opts.limit then return nil end
    while i > #buf do
      if done then return nil end
      local d = http.request(self, {
        path = "/v3/table/deleted",
        query = { cursor_id = cursor, page_size = size, database_id = dbid },
      })
      buf, i = d.tables or {}, 1
      for _, t in ipairs(buf) do shape.object(t, { "id", "database_id" }) end
      local nxt = d.cursor_id
      if nxt == nil or nxt == json.null or nxt == cursor then done = true else cursor = nxt end
    end
    local t = buf[i]
    i = i + 1
    count = count + 1
    return t
  end
end

--- client:recover_table(table_id, {table_name =, database_name =}) -> the
-- recovered table (POST /v3/table/recover/:id). The new names avoid a
-- clash with a table or database created since; a deleted parent database
-- is recovered too.
function M:recover_table(table_id, opts)
  local id = args.id("recover_table", "table_id", table_id)
  opts = args.opts("recover_table", opts, { table_name = true, database_name = true })
  args.fields("recover_table", opts, { table_name = "string", database_name = "string" })
  local d = http.request(self, {
    method = "POST", path = http.path("/v3/table/recover/%s", id),
    json = args.pick(opts, { "table_name", "database_name" }),
  })
  return shape.table(d)
end

return M
