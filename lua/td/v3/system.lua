--- td.v3.system: server status and the account, declared as data (td/ops.lua).
local ops = require "td.ops"

local M = {}

ops.define(M, "v3.system", {
  { name = "server_status", path = "/v3/system/server_status", auth = false,
    answer = { status = "string" }, unwrap = "status",
    returns = '"ok" (raises when TD answers otherwise)',
    doc = "TD's server status; needs no API key.", example = "c:server_status()" },

  { name = "account", path = "/v3/account/show",
    answer = "table", unwrap = function(d) return d.account or d end,
    returns = "{ id, plan, storage_size, guaranteed_cores, maximum_cores, created_at, ... }",
    doc = "The account the API key belongs to.", example = "c:account().plan" },
})

return M
