--- td.v3.databases: databases and tables (reading).
local errors = require "td.errors"
local http = require "td.http"
local shape = require "td.v3.shape"

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
