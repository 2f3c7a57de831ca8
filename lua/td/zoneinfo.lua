--- td.zoneinfo: time zones from the system's zoneinfo files (TZif, RFC 8536),
-- read in Lua. zoneinfo.load(name) -> a zone with zone:offset(utc) (seconds
-- east of UTC at that instant) and zone:to_utc(local_seconds). Names are
-- IANA names ("Asia/Tokyo", "UTC") under $TZDIR or /usr/share/zoneinfo;
-- nil or "local" is /etc/localtime. Instants after the last transition
-- follow the file's POSIX TZ rule (for example EST5EDT,M3.2.0,M11.1.0).
local errors = require "td.errors"

local M = {}
local cache = {}

local function be(s, i, n) -- big-endian signed integer of n bytes at i
  local v = 0
  for k = 0, n - 1 do v = v * 256 + s:byte(i + k) end
  if v >= 2 ^ (8 * n - 1) then v = v - 2 ^ (8 * n) end
  return math.tointeger(v) or v
end

-- days since 1970-01-01 of a civil date (Howard Hinnant's algorithm)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
M.days_from_civil = days_from_civil

--- The civil date of a day number: y, m, d.
local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  if m <= 2 then y = y + 1 end
  return y, m, d
end
M.civil_from_days = civil_from_days

--- fields(seconds) -> {year, month, day, hour, min, sec, wday (0 = Sunday)}
-- of a count of seconds since the epoch read as a wall clock.
function M.fields(s)
  local days = s // 86400
  local rem = s - days * 86400
  local y, m, d = civil_from_days(days)
  return { year = y, month = m, day = d, hour = rem // 3600, min = rem % 3600 // 60,
    sec = rem % 60, wday = (days + 4) % 7 }
end

-- POSIX TZ rules: "EST5EDT,M3.2.0,M11.1.0" (only the M form for rules)
local function parse_offset(s, i)
  local sign, h, rest = s:match("^([+-]?)(%d+)()", i)
  if not h then return nil end
  local secs = tonumber(h) * 3600
  i = rest
  local mm, r2 = s:match("^:(%d+)()", i)
  if mm then secs = secs + tonumber(mm) * 60; i = r2 end
  local ss, r3 = s:match("^:(%d+)()", i)
  if ss then secs = secs + tonumber(ss); i = r3 end
  return (sign == "-" and -secs or secs), i
end

local function parse_name(s, i)
  local q, r = s:match("^<([^>]*)>()", i)
  if q then return q, r end
  return s:match("^(%a%a%a+)()", i)
end

local function parse_rule(s)
  local i = 1
  local std, off, dst, doff
  std, i = parse_name(s, i)
  if not std then return nil end
  off, i = parse_offset(s, i)
  if not off then return nil end
  local rule = { std = -off }
  if i > #s then return rule end
  dst, i = parse_name(s, i)
  if not dst then return rule end
  local o, ni = parse_offset(s, i)
  if o then doff, i = o, ni end
  rule.dst = doff and -doff or (rule.std + 3600)
  if i <= #s and s:sub(i, i) == "," then
    local function part(from)
      local mo, w, d, r = s:match("^M(%d+)%.(%d+)%.(%d+)()", from)
      if not mo then return nil end
      local t = 7200
      if s:sub(r, r) == "/" then
        local tt, r2 = parse_offset(s, r + 1)
        t, r = tt, r2
      end
      return { month = tonumber(mo), week = tonumber(w), wday = tonumber(d), time = t }, r
    end
    local a, r = part(i + 1)
    if a and s:sub(r, r) == "," then
      local b = part(r + 1)
      if b then rule.start, rule.finish = a, b end
    end
  end
  return rule
end

-- the local-time second of year y at which a rule part switches
local function rule_day(p, y)
  local first = days_from_civil(y, p.month, 1)
  local wday1 = (first + 4) % 7
  local d = (p.wday - wday1) % 7 + (p.week - 1) * 7
  local dim = days_from_civil(p.month == 12 and y + 1 or y, p.month == 12 and 1 or p.month + 1, 1) - first
  while d >= dim do d = d - 7 end
  return (first + d) * 86400 + p.time
end

local function rule_offset(rule, utc)
  if not rule.start then return rule.std end
  local y = M.fields(utc + rule.std).year
  local s = rule_day(rule.start, y) - rule.std   -- switch to DST, in UTC
  local e = rule_day(rule.finish, y) - rule.dst  -- back to standard, in UTC
  local in_dst
  if s < e then in_dst = utc >= s and utc < e else in_dst = not (utc >= e and utc < s) end
  return in_dst and rule.dst or rule.std
end

local Zone = {}
Zone.__index = Zone

--- zone:offset(utc) -> seconds east of UTC at that instant
function Zone:offset(utc)
  local times = self.times
  local n = #times
  if n == 0 or utc < times[1] then
    if n == 0 and self.rule then return rule_offset(self.rule, utc) end
    return self.first
  end
  if utc >= times[n] and self.rule then return rule_offset(self.rule, utc) end
  local lo, hi = 1, n
  while lo < hi do
    local mid = (lo + hi + 1) // 2
    if times[mid] <= utc then lo = mid else hi = mid - 1 end
  end
  return self.offsets[lo]
end

--- zone:to_utc(local_seconds) -> the instant whose wall clock reads that.
-- A wall time that occurs twice (the clock goes back) is its first
-- occurrence; one that does not occur (the clock jumps forward) moves
-- forward by the jump, as cron runs it just after the change.
function Zone:to_utc(l)
  local o1, o2 = self:offset(l - 86400), self:offset(l + 86400)
  if o1 == o2 then return l - o1 end
  local u1, u2 = l - o1, l - o2
  local ok1, ok2 = self:offset(u1) == o1, self:offset(u2) == o2
  if ok1 and ok2 then return math.min(u1, u2) end
  if ok1 then return u1 end
  if ok2 then return u2 end
  return u1
end

local function parse(data, name)
  if data:sub(1, 4) ~= "TZif" then return nil end
  local version = data:sub(5, 5)
  local function block(pos, tsize)
    local isut, isstd, leap, timecnt, typecnt, charcnt =
      be(data, pos + 20, 4), be(data, pos + 24, 4), be(data, pos + 28, 4),
      be(data, pos + 32, 4), be(data, pos + 36, 4), be(data, pos + 40, 4)
    local p = pos + 44
    local times, idx, types = {}, {}, {}
    for k = 1, timecnt do times[k] = be(data, p, tsize); p = p + tsize end
    for k = 1, timecnt do idx[k] = data:byte(p); p = p + 1 end
    for k = 1, typecnt do
      types[k] = { off = be(data, p, 4), isdst = data:byte(p + 4) }
      p = p + 6
    end
    p = p + charcnt + leap * (tsize + 4) + isstd + isut
    return times, idx, types, p
  end
  local times, idx, types, p = block(1, 4)
  local footer
  if version >= "2" then
    times, idx, types, p = block(p, 8)
    footer = data:match("^\n([^\n]*)\n", p)
  end
  local z = setmetatable({ name = name, times = times, offsets = {} }, Zone)
  for k = 1, #times do z.offsets[k] = types[idx[k] + 1].off end
  z.first = types[1] and types[1].off or 0
  for _, ty in ipairs(types) do if ty.isdst == 0 then z.first = ty.off break end end
  if footer and footer ~= "" then z.rule = parse_rule(footer) end
  return z
end

local UTC = setmetatable({ name = "UTC", times = {}, offsets = {}, first = 0 }, Zone)

--- zoneinfo.load(name) -> zone. Raises `usage` for an unknown zone.
function M.load(name)
  if name == nil or name == "local" then
    local tz = os.getenv("TZ")
    if tz and tz ~= "" then name = tz:gsub("^:", "") else name = "/etc/localtime" end
  end
  errors.check("zoneinfo", "tz", name, "string")
  if name == "UTC" or name == "Etc/UTC" or name == "Z" then return UTC end
  if cache[name] then return cache[name] end
  local path = name
  if name:sub(1, 1) ~= "/" then
    if name:find("..", 1, true) or not name:match("^[%w_+%-/]+$") then
      errors.raise { kind = "usage", message = ("unknown time zone %q"):format(name) }
    end
    path = (os.getenv("TZDIR") or "/usr/share/zoneinfo") .. "/" .. name
  end
  local f = io.open(path, "rb")
  if not f then
    if name == "/etc/localtime" then return UTC end
    errors.raise { kind = "usage", message = ("unknown time zone %q (no %s; is tzdata installed?)"):format(name, path) }
  end
  local data = f:read("a")
  f:close()
  local z = parse(data, name)
  if not z then errors.raise { kind = "usage", message = ("time zone %q: %s is not a TZif file"):format(name, path) } end
  cache[name] = z
  return z
end

return M
