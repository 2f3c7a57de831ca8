--- td.trino.client: the client methods of the Trino (Presto) path.
-- Interactive queries go to TD's Trino endpoint (api-presto.<site>) and
-- stream their rows in about a second; automation keeps client:query (v3
-- jobs), which is idempotent and leaves a job in TD's history.
local M = {}

--- client:trino(sql, {db =, catalog =, source =, session =, time_zone =,
-- timeout =, progress =}) -> a Trino query (see td/trino/query.lua):
--   for row in c:trino("SELECT ...", { db = "web" }):rows() do ... end
function M:trino(sql, opts)
  return require("td.trino.query").submit(self, sql, opts)
end

return M
