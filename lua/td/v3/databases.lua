--- td.v3.databases: databases (list, show, create, delete) and reading tables,
-- declared as data (td/ops.lua turns each declaration into a client method).
-- Table changes live in td/v3/tables.lua.
local errors = require "td.errors"
local ops = require "td.ops"
local shape = require "td.v3.shape"

local M = {}

ops.define(M, "v3.databases", {
  { name = "databases", path = "/v3/database/list",
    answer = { databases = { "table" } }, unwrap = "databases", each = shape.database,
    returns = "array of databases ({name, count, created_at, permission, ...})",
    doc = "The account's databases.",
    example = 'for _, d in ipairs(c:databases()) do print(d.name, d.count) end' },

  { name = "database", path = "/v3/database/show/{name}",
    args = { { "name", "name", "the database's name" } },
    answer = "table", unwrap = function(d) return shape.database(d) end,
    returns = "one database", errors = "not_found",
    doc = "One database.", example = 'c:database("web").count' },

  { name = "create_database", describe = "create database {name}", method = "POST", path = "/v3/database/create/{name}",
    args = { { "name", "name", "the new database's name" } },
    opts = { { "description", "string", "free text shown in the console" },
             { "if_not_exists", "boolean", "an existing database is success, not conflict", to = false } },
    result = "name",
    rescue = function(e, call)
      if call.opts.if_not_exists and errors.is(e, "conflict") then return call.args.name end
      error(e, 0)
    end,
    returns = "name", errors = "conflict when it exists (unless if_not_exists)",
    doc = "Create a database.", example = 'c:create_database("staging", { if_not_exists = true })' },

  { name = "delete_database", describe = "delete database {name} and its tables", method = "POST", path = "/v3/database/delete/{name}",
    args = { { "name", "name", "the database's name" } }, result = "name",
    returns = "name",
    doc = "Delete a database; its tables go with it (they can be recovered: deleted_tables).",
    example = 'c:delete_database("staging")' },

  { name = "tables", path = "/v3/table/list/{db}",
    args = { { "db", "name", "the database's name" } },
    answer = { tables = { "table" } }, unwrap = "tables", each = shape.table,
    returns = "array of tables ({name, type, count, schema = {{col, type}...}, ...})",
    doc = "The tables of a database.", example = 'for _, t in ipairs(c:tables("web")) do print(t.name) end' },

  { name = "table", path = "/v3/table/show/{db}/{name}",
    args = { { "db", "name", "the database's name" }, { "name", "name", "the table's name" } },
    answer = "table", unwrap = function(d) return shape.table(d) end,
    returns = "one table", errors = "not_found",
    doc = "One table.", example = 'c:table("web", "access").count' },
})

return M
