--- td.v3.connections: looking up connections (saved results) by name,
-- validating a connector configuration against one, and the account's data
-- connector restrictions.
local http = require "td.http"
local args = require "td.v3.args"

local M = {}

--- client:connection_id(name) -> the connection's id as a string
-- (GET /v3/connections/lookup; raises not_found).
function M:connection_id(name)
  args.name("connection_id", "name", name)
  local d = http.request(self, { path = "/v3/connections/lookup", query = { name = name } })
  return d.id ~= nil and tostring(d.id) or nil
end

--- client:validate_connector_config{type =, settings = {...}, connection_id =
-- | connection = name} -> {type, settings} as TD normalised them
-- (POST /v3/connector_configs/validate_with_connection). An invalid
-- configuration raises bad_request with TD's message.
function M:validate_connector_config(opts)
  opts = args.opts("validate_connector_config", opts, { type = true, settings = true, connection_id = true, connection = true })
  if opts.type == nil then
    args.usage("validate_connector_config: opts.type (the connector type, e.g. \"s3\") is required")
  end
  args.fields("validate_connector_config", opts, { type = "string", settings = "table", connection_id = "id", connection = "string" })
  local id = opts.connection_id
  if opts.connection then
    if id then args.usage("validate_connector_config: give connection or connection_id, not both") end
    id = self:connection_id(opts.connection)
  end
  local d = http.request(self, {
    method = "POST", path = "/v3/connector_configs/validate_with_connection",
    -- an empty settings table encodes as the JSON object {}
    json = { type = opts.type, settings = opts.settings or {},
             connection_id = id and (math.tointeger(tonumber(id)) or id) or nil },
    idempotent = true, -- validation changes nothing
  })
  return d
end

--- client:data_connector_restrictions() -> { <connector> = { <direction> = bool } }
-- e.g. { mysql = { import = true, export = false } } (GET /v3/data_connector_restrictions).
function M:data_connector_restrictions()
  return (http.request(self, { path = "/v3/data_connector_restrictions" }))
end

return M
