--- td.trino.client: the client methods of the Trino (Presto) path.
-- Interactive queries go to TD's Trino endpoint (api-presto.<site>) and
-- stream their rows in about a second; automation keeps client:query (v3
-- jobs), which is idempotent and leaves a job in TD's history.
local M = {}

--- client:trino(sql, {db =, catalog =, source =, session =, time_zone =,
-- timeout =, progress =}) -> a Trino query: an interactive query over TD's
-- Trino endpoint (the client's presto_endpoint, api-presto.<site>), sent
-- at once; its rows stream page by page through query:rows(), records(),
-- fetch(n), result_table(n), download(target, {format}) or wait(), once.
-- db is the database (Trino's schema); catalog defaults to "td-presto";
-- session sets Trino session properties ({query_max_run_time = "10m"});
-- timeout (seconds) bounds the whole query, reading included. Leaving a
-- loop early (break, an error, Ctrl-C) or the timeout cancels the query on
-- TD. No job is created: scripts that need idempotency and TD's job
-- history use client:query. Raises query_failed (error_name, error_type,
-- line, column, query_id) when Trino reports a failure; docs/trino.md.
--   for row in c:trino("SELECT ...", { db = "web" }):rows() do ... end
function M:trino(sql, opts)
  return require("td.trino.query").submit(self, sql, opts)
end

return M
