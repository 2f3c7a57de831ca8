--- td.v3.connections: looking up connections (saved results) by name,
-- validating a connector configuration against one, and the account's data
-- connector restrictions. Declared as data (td/ops.lua); validation is
-- written by hand.
local http = require "td.http"
local args = require "td.v3.args"
local ops = require "td.ops"

local M = {}

--- client:validate_connector_config{type =, settings = {...}, connection_id =
-- | connection = name} -> {type, settings} as TD normalised them
-- (POST /v3/connector_configs/validate_with_connection). An invalid
-- configuration raises bad_request with TD's message.
function M:validate_connector_config(opts)
  opts = ops.check_opts(ops.lookup("client:validate_connector_config"), opts) -- the declaration below
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

ops.define(M, "v3.connections", {
  { name = "connection_id", path = "/v3/connections/lookup",
    args = { { "name", "name", "the connection's name", to = "query" } },
    answer = { id = "id" }, unwrap = function(d) return tostring(d.id) end,
    returns = "the connection's id as a string", errors = "not_found",
    doc = "Look up a connection (saved result) by name.", example = 'c:connection_id("my_s3")' },

  { name = "validate_connector_config", hand = true, method = "POST", path = "/v3/connector_configs/validate_with_connection",
    opts = { { "type", "string", 'the connector type, e.g. "s3"', required = 'the connector type, e.g. "s3"' },
             { "settings", "table", "the connector's settings" },
             { "connection_id", "id", "the connection to validate against" },
             { "connection", "string", "the same by name" } },
    returns = "{type, settings} as TD normalised them", errors = "bad_request with TD's message",
    doc = "Validate a connector configuration against a connection.",
    example = 'c:validate_connector_config{ type = "s3", connection = "my_s3", settings = { bucket = "b" } }' },

  { name = "data_connector_restrictions", path = "/v3/data_connector_restrictions", answer = "table",
    returns = "{ <connector> = { <direction> = bool } }",
    doc = "The account's data connector restrictions.", example = "c:data_connector_restrictions().mysql" },
})

return M
