--- td.v3.tables: creating, changing, reading the tail of, moving, deleting
-- and recovering tables. (Listing and showing tables: td/v3/databases.lua.)
-- Schemas are given as Lua arrays, either
--   {{"user_id", "long"}, {"name", "string", "alias"}, ...}   or
--   {{name = "user_id", type = "long", alias =, description =}, ...}
-- and are sent to TD as its JSON form [[name, type(, alias(, description))], ...].
-- The thin operations are declared as data at the end (td/ops.lua); create,
-- tail, transfer and the deleted-table iterator are written by hand.
local core = require "td.core"
local errors = require "td.errors"
local http = require "td.http"
local json = require "cjson.safe"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"
local ops = require "td.ops"

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
  opts = ops.check_opts(ops.lookup("client:create_table"), opts) -- the declaration below
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

--- client:tail(db, name, {count = 10}) -> array of the table's last records
-- (maps, oldest first; NULL columns absent). GET /v3/table/tail as msgpack.
function M:tail(db, name, opts)
  name_arg("tail", "db", db)
  name_arg("tail", "name", name)
  opts = ops.check_opts(ops.lookup("client:tail"), opts)
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
  opts = ops.check_opts(ops.lookup("client:transfer_table"), opts)
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
  opts = ops.check_opts(ops.lookup("client:deleted_tables"), opts)
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

local DB = { "db", "name", "the database's name" }
local NAME = { "name", "name", "the table's name" }
local SCHEMA = { "schema", "any", '{{"user_id", "long"}, ...} or {{name =, type =, alias =, description =}, ...}' }

-- the schema argument, checked and turned into TD's JSON text
local function schema_arg(call)
  local fname = call.decl.name
  if call.args.schema == nil then usage(("bad argument 'schema' to '%s' (array expected, got no value)"):format(fname)) end
  call.args.schema = schema_json(fname, call.args.schema)
end

ops.define(M, "v3.tables", {
  { name = "create_table", hand = true, method = "POST", path = "/v3/table/create/{db}/{name}",
    args = { DB, NAME },
    opts = { { "type", "string", 'the table type (TD knows only "log")' },
             { "schema", "any", "the columns (see the file's header)" },
             { "expire_days", "integer", "days after which records expire" },
             { "include_v", "boolean", "include the v column" },
             { "description", "string", "free text" },
             { "detect_schema", "boolean", "let TD detect the schema on import" },
             { "idempotent_key", "string", "a key that makes retries safe" },
             { "source_table", "string", "copy the schema of this table" },
             { "including_properties", "boolean", "copy the source table's properties too" },
             { "if_not_exists", "boolean", 'an existing table is success, not conflict' } },
    returns = "{database, table, type}", errors = "conflict when it exists (unless if_not_exists)",
    doc = "Create a table.", example = 'c:create_table("web", "access", { schema = {{"path", "string"}} })' },

  { name = "delete_table", describe = "delete table {db}.{name}", method = "POST", path = "/v3/table/delete/{db}/{name}", args = { DB, NAME },
    answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Delete a table (recoverable: see deleted_tables).", example = 'c:delete_table("web", "old")' },

  { name = "swap_table", describe = "swap tables {db}.{a} and {db}.{b}", aliases = { "swap_tables" }, method = "POST", path = "/v3/table/swap/{db}/{a}/{b}",
    args = { DB, { "a", "name", "one table" }, { "b", "name", "the other table" } },
    answer = "table", unwrap = ref, returns = "{database, table1, table2}",
    doc = "The two tables exchange names (and so contents) in one step.", example = 'c:swap_table("web", "kpi", "kpi_new")' },

  { name = "rename_table", describe = "rename table {db}.{from} to {to}", method = "POST", path = "/v3/table/rename/{db}/{from}/{to}",
    args = { DB, { "from", "name", "the table's name" }, { "to", "name", "its new name" } },
    opts = { { "overwrite", "boolean", "replace an existing table called `to`" } },
    answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Rename a table.", example = 'c:rename_table("web", "kpi_new", "kpi", { overwrite = true })' },

  { name = "update_table", describe = "update table {db}.{name}", method = "POST", path = "/v3/table/update/{db}/{name}", args = { DB, NAME },
    needs_opts = true,
    opts = { { "expire_days", "integer", "days after which records expire (0: never)" },
             { "include_v", "boolean", "include the v column" },
             { "description", "string", "free text" },
             { "schema", "any", "new columns (see the file's header)" },
             { "detect_schema", "boolean", "let TD detect the schema on import" },
             { "name", "string", "a new name" },
             { "overwrite", "boolean", "with name: replace an existing table of that name" },
             { "ignore_duplicate_schema", "boolean", "accept columns that are there already" } },
    before = function(call)
      if call.opts.schema ~= nil then call.opts.schema = schema_json("update_table", call.opts.schema) end
    end,
    answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Change a table's settings.", example = 'c:update_table("web", "access", { expire_days = 90 })' },

  { name = "update_schema", describe = "replace the schema of table {db}.{name}", method = "POST", path = "/v3/table/update-schema/{db}/{name}",
    args = { DB, NAME, { "schema", "any", SCHEMA[3], to = "form" } },
    opts = { { "ignore_duplicate_schema", "boolean", "accept columns that are there already" } },
    before = schema_arg, answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Replace a table's schema.", example = 'c:update_schema("web", "access", {{"path", "string"}})' },

  { name = "append_schema", describe = "add columns to table {db}.{name}", method = "POST", path = "/v3/table/append-schema/{db}/{name}",
    args = { DB, NAME, { "schema", "any", SCHEMA[3], to = "form" } },
    before = schema_arg, answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Add columns to a table's schema; columns it has already are kept as they are.",
    example = 'c:append_schema("web", "access", {{"referer", "string"}})' },

  { name = "tail", hand = true, path = "/v3/table/tail/{db}/{name}", args = { DB, NAME },
    opts = { { "count", "integer", "how many records (TD's default: 10)" } },
    returns = "array of the table's last records (maps, oldest first; NULL columns absent)",
    doc = "The last records of a table (GET /v3/table/tail as msgpack).", example = 'c:tail("web", "access", { count = 5 })' },

  { name = "table_distribution", path = "/v3/table/distribution/{db}/{name}", args = { DB, NAME },
    answer = "table", returns = "{bucket_count, partition_function, columns = {{key, type, name}, ...}}",
    errors = "not_found when the table has none",
    doc = "How a table's records are distributed (user-defined partitioning).", example = 'c:table_distribution("web", "access")' },

  { name = "change_database", describe = "move table {db}.{name} to database {dest_db}", method = "POST", path = "/v3/table/change_database/{db}/{name}",
    args = { DB, NAME, { "dest_db", "name", "the database it moves to", to = "form", as = "dest_database_name" } },
    answer = "table", unwrap = ref, returns = "{database, table, type}",
    doc = "Move a table into another database of the account.", example = 'c:change_database("staging", "kpi", "web")' },

  { name = "transfer_table", hand = true, method = "POST", path = "/v3/table/transfer/{db}/{name}", args = { DB, NAME },
    opts = { { "dest_apikey", "string", "the destination account's API key (masked)", required = true },
             { "dest_database", "string", "the destination database", required = true },
             { "dest_table", "string", "the destination table (default: the table's name)" },
             { "idempotent_key", "string", "a key that makes retries safe" } },
    returns = "{database_name, table_name}",
    doc = "Move a table to another account (limited access).",
    example = 'c:transfer_table("web", "kpi", { dest_apikey = key, dest_database = "shared" })' },

  { name = "deleted_tables", hand = true, path = "/v3/table/deleted",
    opts = { { "database", "string", "only tables of this database" }, { "database_id", "id", "the same by id" },
             { "page_size", "integer", "items per request (1..100, default 100)" },
             { "limit", "integer", "stop after this many" } },
    returns = "iterator over {id, name, database_id, database_name, deleted_at, created_at}",
    doc = "Deleted, recoverable tables, following TD's cursor pages.",
    example = 'for t in c:deleted_tables{ database = "web" } do print(t.id, t.name) end' },

  { name = "recover_table", describe = "recover deleted table {table_id}", method = "POST", path = "/v3/table/recover/{table_id}",
    args = { { "table_id", "id", "the deleted table's id (deleted_tables)" } },
    opts = { { "table_name", "string", "a new name, when the old one is taken" },
             { "database_name", "string", "a new database name, when the old one is taken" } },
    send = "json", answer = "table", unwrap = function(d) return shape.table(d) end,
    returns = "the recovered table",
    doc = "Recover a deleted table (and its deleted database).", example = "c:recover_table(1234)" },
})

return M
