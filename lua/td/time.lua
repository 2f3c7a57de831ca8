--- td.time: TD's timestamps.
-- td.time.parse accepts the shapes TD's APIs use: "2026-11-22 10:00:00 UTC",
-- RFC 3339 "2026-11-22T10:00:00Z" / "+09:00", "2026-11-22 10:00:00 +0900",
-- a date "2026-11-22", epoch numbers; "" and nil give nil.
local M = {}

-- seconds since the epoch for a UTC calendar time (no os.time/TZ involved)
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

function M.utc(y, mo, d, h, mi, s)
  return days_from_civil(y, mo, d) * 86400 + (h or 0) * 3600 + (mi or 0) * 60 + (s or 0)
end

--- Parse a TD timestamp into epoch seconds (integer, or float with fractions).
function M.parse(v)
  if v == nil or v == "" then return nil end
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local y, mo, d, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return tonumber(v) end
  local h, mi, s, frac, tz = rest:match("^[T ](%d%d):(%d%d):?(%d?%d?)(%.?%d*)%s*(.*)$")
  local t = M.utc(tonumber(y), tonumber(mo), tonumber(d),
    tonumber(h) or 0, tonumber(mi) or 0, tonumber(s) or 0)
  if not h and rest ~= "" then return nil end
  if frac and #frac > 1 then t = t + tonumber("0" .. frac) end
  tz = tz or ""
  if tz == "" or tz == "Z" or tz == "UTC" or tz == "GMT" then return t end
  local sign, th, tm = tz:match("^([%+%-])(%d%d):?(%d%d)$")
  if sign then
    local off = tonumber(th) * 3600 + tonumber(tm) * 60
    return sign == "+" and t - off or t + off
  end
  return t
end

-- the instants a time argument may name: years 1 to 9999
local MIN_T, MAX_T = M.utc(1, 1, 1), M.utc(9999, 12, 31, 23, 59, 59)

--- The one check of a time argument (epoch seconds, or a string M.parse
-- reads): epoch_arg(fname, argname, v) -> integer epoch seconds. Raises a
-- `usage` error naming the function and the argument for anything else:
-- NaN, infinities, instants outside years 1-9999, unreadable strings,
-- other types.
function M.epoch_arg(fname, argname, v)
  local t = v
  if type(v) == "string" then t = M.parse(v) end
  if type(t) == "number" and t == t and t >= MIN_T and t <= MAX_T then
    return math.floor(t)
  end
  local got = type(v) == "string" and ("%q"):format(v)
    or (type(v) == "number" and tostring(v)) or (v == nil and "no value" or type(v))
  require("td.errors").raise {
    kind = "usage",
    message = ("bad argument '%s' to '%s' (epoch seconds or a time such as \"2026-11-22 10:00:00 UTC\" expected, got %s)")
      :format(argname, fname, got),
  }
end

--- Format epoch seconds as TD does: "2026-11-22 10:00:00 UTC".
function M.format(t)
  return os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(t))
end

return M
