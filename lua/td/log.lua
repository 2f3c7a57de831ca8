--- td.log: leveled, timestamped log lines for runbooks, on stderr.
--   td.log.info("wrote %d rows", n)  td.log.warn(...)  td.log.error(...)
--   td.log.debug(...)
-- Levels: debug < info < warn < error. The threshold is info, debug with
-- --verbose, warn with --quiet, or what `--log-level` or td.log.level(name)
-- says. Lines are text (`2026-11-22T10:00:00Z INFO  message`) or, with
-- `--log-format json` or td.log.format("json"), one JSON object per line
-- (`{"time":..., "level":"info", "msg":...}`) for log shippers. Every line
-- goes through td.redact: no secret reaches the log.
local redact = require "td.redact"

local M = {}
local host = package.loaded["td.host"] or {}

local LEVELS = { debug = 10, info = 20, warn = 30, error = 40 }
local LABEL = { debug = "DEBUG", info = "INFO ", warn = "WARN ", error = "ERROR" }

local threshold = LEVELS.info
if host.verbose then threshold = LEVELS.debug end
if host.quiet then threshold = LEVELS.warn end
local fmt_json = false

local function usage(msg)
  require("td.errors").raise { kind = "usage", message = msg }
end

--- td.log.level([name]) -> the current level name; sets it when name
-- ("debug", "info", "warn" or "error") is given.
function M.level(name)
  if name ~= nil then
    if not LEVELS[name] then
      usage(("td.log.level: level must be debug, info, warn or error (got %q)"):format(tostring(name)))
    end
    threshold = LEVELS[name]
  end
  for k, v in pairs(LEVELS) do if v == threshold then return k end end
end

--- td.log.format([name]) -> "text" or "json"; sets it when name is given.
function M.format(name)
  if name ~= nil then
    if name ~= "text" and name ~= "json" then
      usage(("td.log.format: format must be text or json (got %q)"):format(tostring(name)))
    end
    fmt_json = name == "json"
  end
  return fmt_json and "json" or "text"
end

if host.log_level then
  local ok, err = pcall(M.level, host.log_level)
  if not ok then io.stderr:write("tdlua: --log-level: ", tostring(err.message or err), "\n") end
end
if host.log_format then
  local ok, err = pcall(M.format, host.log_format)
  if not ok then io.stderr:write("tdlua: --log-format: ", tostring(err.message or err), "\n") end
end

--- Whether a line of this level would be written.
function M.enabled(level) return (LEVELS[level] or 0) >= threshold end

--- log.write(level, message[, fields]) - write one line (already formatted
-- message; fields: extra keys for the JSON form). The one place log lines
-- are written; progress lines for unattended runs come here too.
function M.write(level, msg, fields)
  if (LEVELS[level] or 0) < threshold then return end
  msg = redact.text(tostring(msg))
  local line
  if fmt_json then
    local rec = { time = os.date("!%Y-%m-%dT%H:%M:%SZ"), level = level, msg = msg }
    for k, v in pairs(fields or {}) do
      if rec[k] == nil then rec[k] = type(v) == "string" and redact.text(v) or v end
    end
    local cjson = require "cjson"
    line = cjson.encode(rec)
  else
    line = os.date("!%Y-%m-%dT%H:%M:%SZ") .. " " .. LABEL[level] .. " " .. msg
  end
  io.stderr:write(line, "\n")
  io.stderr:flush()
end

local function emit(level, fmt, ...)
  if (LEVELS[level] or 0) < threshold then return end
  local msg = select("#", ...) > 0 and tostring(fmt):format(...) or tostring(fmt)
  M.write(level, msg)
end

--- td.log.info(fmt, ...) - string.format(fmt, ...) at level info.
function M.info(fmt, ...) emit("info", fmt, ...) end
--- td.log.warn(fmt, ...) - at level warn.
function M.warn(fmt, ...) emit("warn", fmt, ...) end
--- td.log.error(fmt, ...) - at level error.
function M.error(fmt, ...) emit("error", fmt, ...) end
--- td.log.debug(fmt, ...) - at level debug (shown with --verbose or --log-level debug).
function M.debug(fmt, ...) emit("debug", fmt, ...) end

return M
