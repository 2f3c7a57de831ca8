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

-- strptime directives: the Lua pattern of each and where its value goes
local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8, sep = 9,
  oct = 10, nov = 11, dec = 12 }
local DIRECTIVES = {
  Y = { "([%+%-]?%d%d%d%d)", "y" }, m = { "(%d%d?)", "mo" }, d = { "(%d%d?)", "d" },
  e = { "%s*(%d%d?)", "d" }, H = { "(%d%d?)", "h" }, I = { "(%d%d?)", "h" }, M = { "(%d%d)", "mi" },
  S = { "(%d%d)", "s" }, y = { "(%d%d)", "y2" }, j = { "(%d%d?%d?)", "yday" },
  b = { "(%a%a%a)", "mon" }, h = { "(%a%a%a)", "mon" }, B = { "(%a+)", "mon" },
  z = { "([%+%-]%d%d:?%d%d)", "z" }, Z = { "(%a+)", "zname" }, s = { "(%-?%d+)", "epoch" },
  f = { "(%d+)", "frac" }, p = { "(%a%a)", "ampm" }, a = { "%a+", nil }, A = { "%a+", nil },
}
local EXPAND = { T = "%H:%M:%S", F = "%Y-%m-%d", D = "%m/%d/%y", R = "%H:%M" }
local compiled = {}

local function compile(fmt)
  local c = compiled[fmt]
  if c then return c end
  fmt = fmt:gsub("%%([TFDR])", EXPAND)
  local pat, slots, i = { "^%s*" }, {}, 1
  while i <= #fmt do
    local ch = fmt:sub(i, i)
    if ch == "%" then
      local d = fmt:sub(i + 1, i + 1)
      if d == "%" then
        pat[#pat + 1] = "%%"
      else
        local dir = DIRECTIVES[d]
        if not dir then return nil, ("unknown directive %%%s"):format(d) end
        pat[#pat + 1] = dir[1]
        if dir[2] then slots[#slots + 1] = dir[2] end
      end
      i = i + 2
    elseif ch:match("%s") then
      pat[#pat + 1] = "%s*"
      i = i + 1
    else
      pat[#pat + 1] = ch:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
      i = i + 1
    end
  end
  pat[#pat + 1] = "%s*$"
  c = { pattern = table.concat(pat), slots = slots }
  compiled[fmt] = c
  return c
end

--- td.time.strptime(text, format) -> epoch seconds, or nil and a reason.
-- format uses strftime's directives: %Y %m %d %e %H %I %M %S %y %j %b %B %h
-- %p %z (+0900, +09:00) %Z (UTC/GMT only) %s (epoch seconds) %f
-- (fraction of a second) %a %A (ignored) %T %F %D %R %%. Whitespace in
-- the format matches any run of whitespace. Times without %z are UTC.
--   td.time.strptime("22/11/2026 10:00", "%d/%m/%Y %H:%M") --> 1795341600
function M.strptime(text, fmt)
  if type(text) ~= "string" then return nil, "not a string" end
  local c, err = compile(fmt)
  if not c then return nil, err end
  local caps = { text:match(c.pattern) }
  if caps[1] == nil then return nil, ("%q does not match the format %q"):format(text, fmt) end
  local v = {}
  for i, slot in ipairs(c.slots) do v[slot] = caps[i] end
  if v.epoch then return math.tointeger(tonumber(v.epoch)) end
  local y = tonumber(v.y) or (v.y2 and (tonumber(v.y2) + (tonumber(v.y2) < 69 and 2000 or 1900))) or 1970
  local mo, d = tonumber(v.mo) or 1, tonumber(v.d) or 1
  if v.mon then
    mo = MONTHS[v.mon:sub(1, 3):lower()]
    if not mo then return nil, ("unknown month name %q"):format(v.mon) end
  end
  local h, mi, s = tonumber(v.h) or 0, tonumber(v.mi) or 0, tonumber(v.s) or 0
  if v.ampm then
    local ap = v.ampm:lower()
    if (ap ~= "am" and ap ~= "pm") or h < 1 or h > 12 then return nil, ("bad hour %q %s"):format(v.h, v.ampm) end
    h = h % 12 + (ap == "pm" and 12 or 0)
  end
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then
    return nil, ("%q is not a valid time"):format(text)
  end
  local t
  if v.yday then
    t = M.utc(y, 1, 1) + (tonumber(v.yday) - 1) * 86400 + h * 3600 + mi * 60 + s
  else
    t = M.utc(y, mo, d, h, mi, s)
    if os.date("!*t", t).day ~= d then return nil, ("%q is not a valid date"):format(text) end
  end
  if v.z then
    local sign, zh, zm = v.z:match("^([%+%-])(%d%d):?(%d%d)$")
    local off = tonumber(zh) * 3600 + tonumber(zm) * 60
    t = sign == "+" and t - off or t + off
  elseif v.zname and v.zname ~= "UTC" and v.zname ~= "GMT" and v.zname ~= "Z" then
    return nil, ("unknown time zone %q (use %%z offsets)"):format(v.zname)
  end
  if v.frac then t = t + tonumber("0." .. v.frac) end
  return t
end

return M
