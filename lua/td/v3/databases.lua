--- td.v3.databases: databases (list, show, create, delete) and reading tables.
-- Table changes live in td/v3/tables.lua.
local errors = require "td.errors"
local http = require "td.http"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}
local check = errors.check

local function list_of(items, fn)
  local out = {}
  for i, v in ipairs(items or {}) do out[i] = fn(v) end
  return out
end

--- client:databases() -> array of databases ({ name, count, created_at, permission, ... })
function M:databases()
  local d = http.request(self, { path = "/v3/database/list" })
  return list_of(d.databases, shape.database)
end

--- client:database(name) -> one database (raises not_found)
function M:database(name)
  check("database", "name", name, "string")
  local d = http.request(self, { path = http.path("/v3/database/show/%s", name) })
  return shape.database(d)
end

--- client:create_database(name, {description =, if_not_exists =}) -> name
-- (POST /v3/database/create/:db). Raises conflict when it exists, unless
-- if_not_exists is true.
function M:create_database(name, opts)
  args.name("create_database", "name", name)
  opts = args.opts("create_database", opts, { description = true, if_not_exists = true })
  args.fields("create_database", opts, { description = "string", if_not_exists = "boolean" })
  local ok, e = pcall(http.request, self, {
    method = "POST", path = http.path("/v3/database/create/%s", name),
    form = { description = opts.description },
  })
  if not ok and not (opts.if_not_exists and errors.is(e, "conflict")) then error(e, 0) end
  return name
end

--- client:delete_database(name) -> name (POST /v3/database/delete/:db).
-- The database's tables go with it (they can be recovered: deleted_tables).
function M:delete_database(name)
  args.name("delete_database", "name", name)
  http.request(self, { method = "POST", path = http.path("/v3/database/delete/%s", name), form = {} })
  return name
end

--- client:tables(db) -> array of tables ({ name, type, count, schema = {{col, type}...}, ... })
function M:tables(db)
  check("tables", "db", db, "string")
  local d = http.request(self, { path = http.path("/v3/table/list/%s", db) })
  return list_of(d.tables, shape.table)
end

--- client:table(db, name) -> one table (raises not_found)
function M:table(db, name)
  check("table", "db", db, "string")
  check("table", "name", name, "string")
  local d = http.request(self, { path = http.path("/v3/table/show/%s/%s", db, name) })
  return shape.table(d)
end

return M
