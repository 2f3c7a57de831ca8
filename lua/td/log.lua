--- td.log: timestamped messages for runbooks, on stderr.
-- td.log.info("wrote %d rows", n)  td.log.warn(...)  td.log.error(...)
-- td.log.debug(...) prints only with --verbose. Secrets are redacted.
local redact = require "td.redact"

local M = {}
local host = package.loaded["td.host"] or {}

local function emit(level, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or tostring(fmt)
  io.stderr:write(os.date("!%Y-%m-%dT%H:%M:%SZ"), " ", level, " ", redact.text(msg), "\n")
  io.stderr:flush()
end

function M.info(fmt, ...) emit("INFO ", fmt, ...) end
function M.warn(fmt, ...) emit("WARN ", fmt, ...) end
function M.error(fmt, ...) emit("ERROR", fmt, ...) end
function M.debug(fmt, ...) if host.verbose then emit("DEBUG", fmt, ...) end end

return M
