--- td.v3.system: server status and the account.
local http = require "td.http"

local M = {}

--- client:server_status() -> "ok" (raises when TD answers otherwise). Needs no key.
function M:server_status()
  local d = http.request(self, { path = "/v3/system/server_status", auth = false })
  return d.status
end

--- client:account() -> { id, plan, storage_size, guaranteed_cores, maximum_cores, created_at, ... }
function M:account()
  local d = http.request(self, { path = "/v3/account/show" })
  return d.account or d
end

return M
