--- td.cronexpr: cron expressions and the times they name, in a time zone.
--   local cronexpr = require "td.cronexpr"
--   local e = cronexpr.parse("*/15 9-17 * * mon-fri")   -- raises `usage` when malformed
--   e:next(os.time(), "Asia/Tokyo")          --> the first time strictly after, epoch seconds
--   e:times(from, to, "America/New_York")    --> every time t with from <= t < to, in order
--   e:matches(t, "UTC")                      --> whether t (a whole minute) is one of them
--
-- Syntax: the standard five fields, minute (0-59), hour (0-23), day of the
-- month (1-31), month (1-12 or jan-dec), day of the week (0-7 or sun-sat;
-- 0 and 7 are Sunday); each a list of `*`, `n`, `a-b`, with an optional
-- `/step` (`n/step` runs from n to the end of the range); names are
-- case-insensitive. @hourly, @daily (@midnight), @weekly, @monthly,
-- @yearly (@annually) stand for their five fields. When both the day of
-- the month and the day of the week are restricted (neither starts with
-- `*`), a day matching either one matches, as in Vixie cron and TD.
--
-- Time zones are read from the system's zoneinfo (TZif files under TZDIR
-- or /usr/share/zoneinfo, with the POSIX rule at their end for times
-- after the last listed change); nil, "UTC", "GMT", "Z" and fixed offsets
-- ("+09:00", "-0330") need no files. The times are wall-clock times in
-- the zone: a time that does not exist there (skipped when clocks go
-- forward) runs at the same wall-clock distance after the change (02:30
-- becomes 03:30); a time that happens twice (clocks go back) runs once, at
-- its first occurrence.
local errors = require "td.errors"

local M = {}

local floor = math.floor
local function usage(msg) errors.raise { kind = "usage", message = msg } end

-- --------------------------------------------------------------------------
-- calendar (proleptic Gregorian, days since 1970-01-01)

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end
M._days_from_civil, M._civil_from_days = days_from_civil, civil_from_days

-- --------------------------------------------------------------------------
-- time zones

local zones = {}

-- POSIX TZ rule "EST5EDT,M3.2.0,M11.1.0": std offset, dst offset and the
-- two changes; nil when it cannot be read (then the last listed offset stays)
local function parse_posix(s)
  local i = 1
  local function name()
    local n = s:match("^<[^>]*>", i) or s:match("^%a+", i)
    if not n then return nil end
    i = i + #n
    return n
  end
  local function offset()
    local sign, h, rest = s:match("^([%+%-]?)(%d+)()", i)
    if not h then return nil end
    i = rest
    local secs = tonumber(h) * 3600
    local m = s:match("^:(%d+)", i)
    if m then i = i + 1 + #m; secs = secs + tonumber(m) * 60 end
    local sec = s:match("^:(%d+)", i)
    if sec then i = i + 1 + #sec; secs = secs + tonumber(sec) end
    return sign == "-" and secs or -secs -- POSIX offsets are west-positive
  end
  if not name() then return nil end
  local std = offset()
  if not std then return nil end
  if i > #s then return { std = std } end
  if not name() then return nil end
  local dst = std + 3600
  if s:sub(i, i) ~= "," then
    local o = offset()
    if o then dst = o end
  end
  local function rule()
    if s:sub(i, i) ~= "," then return nil end
    i = i + 1
    local mo, w, d, rest = s:match("^M(%d+)%.(%d)%.(%d)()", i)
    if not mo then return nil end
    i = rest
    local at = 7200
    if s:sub(i, i) == "/" then
      i = i + 1
      local sign, h, r2 = s:match("^([%+%-]?)(%d+)()", i)
      if not h then return nil end
      i = r2
      at = tonumber(h) * 3600
      local mm = s:match("^:(%d+)", i)
      if mm then i = i + 1 + #mm; at = at + tonumber(mm) * 60 end
      local ss = s:match("^:(%d+)", i)
      if ss then i = i + 1 + #ss; at = at + tonumber(ss) end
      if sign == "-" then at = -at end
    end
    return { month = tonumber(mo), week = tonumber(w), wday = tonumber(d), at = at }
  end
  local r1, r2 = rule(), rule()
  if not r1 or not r2 then return nil end
  return { std = std, dst = dst, start = r1, ["end"] = r2 }
end

-- the UTC instant of a POSIX rule's change in year y; `off` is the offset
-- in force before the change (the rule's time is local time)
local function rule_instant(r, y, off)
  local first = days_from_civil(y, r.month, 1)
  local wd = (first + 4) % 7 -- 1970-01-01 was a Thursday
  local day = first + (r.wday - wd) % 7 + (r.week - 1) * 7
  if r.week == 5 then
    local nm = r.month == 12 and days_from_civil(y + 1, 1, 1) or days_from_civil(y, r.month + 1, 1)
    while day >= nm do day = day - 7 end
  end
  return day * 86400 + r.at - off
end

local function posix_offset(p, t)
  if not p.start then return p.std end
  local y = civil_from_days(floor((t + p.std) / 86400))
  local s = rule_instant(p.start, y, p.std)
  local e = rule_instant(p["end"], y, p.dst)
  if s < e then
    return (t >= s and t < e) and p.dst or p.std
  end
  return (t >= e and t < s) and p.std or p.dst -- southern hemisphere
end

local function read_tzif(data, name)
  local function bad() usage(("time zone %q: not a TZif file"):format(name)) end
  if data:sub(1, 4) ~= "TZif" then bad() end
  local version = data:sub(5, 5)
  local function counts(pos)
    return string.unpack(">I4I4I4I4I4I4", data, pos)
  end
  local isut, isstd, leap, timecnt, typecnt, charcnt = counts(21)
  local pos, tsize = 45, 4
  if version >= "2" then
    pos = pos + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
    if data:sub(pos, pos + 3) ~= "TZif" then bad() end
    isut, isstd, leap, timecnt, typecnt, charcnt = counts(pos + 20)
    pos, tsize = pos + 44, 8
  end
  local fmt = tsize == 8 and ">i8" or ">i4"
  local trans, idx, types = {}, {}, {}
  for k = 1, timecnt do trans[k] = string.unpack(fmt, data, pos + (k - 1) * tsize) end
  pos = pos + timecnt * tsize
  for k = 1, timecnt do idx[k] = data:byte(pos + k - 1) + 1 end
  pos = pos + timecnt
  for k = 1, typecnt do
    local off, isdst = string.unpack(">i4B", data, pos + (k - 1) * 6)
    types[k] = { off = off, dst = isdst == 1 }
  end
  pos = pos + typecnt * 6 + charcnt + leap * (tsize + 4) + isstd + isut
  local footer = tsize == 8 and data:match("^\n([^\n]*)\n", pos) or nil
  local first = types[1] and types[1].off or 0
  for _, ty in ipairs(types) do if not ty.dst then first = ty.off; break end end
  local offs = {}
  for k = 1, timecnt do offs[k] = types[idx[k]].off end
  return { trans = trans, offs = offs, first = first,
    posix = footer and footer ~= "" and parse_posix(footer) or nil }
end

local function tzif_offset(z, t)
  local trans = z.trans
  local n = #trans
  if n == 0 or t < trans[1] then
    if n == 0 and z.posix then return posix_offset(z.posix, t) end
    return z.first
  end
  if t >= trans[n] then
    if z.posix then return posix_offset(z.posix, t) end
    return z.offs[n]
  end
  local lo, hi = 1, n -- trans[lo] <= t < trans[hi]
  while hi - lo > 1 do
    local mid = (lo + hi) // 2
    if trans[mid] <= t then lo = mid else hi = mid end
  end
  return z.offs[lo]
end

--- cronexpr.zone(name) -> zone with zone:offset(t) (seconds east of UTC at
-- epoch t). Raises `usage` for an unknown zone.
function M.zone(name)
  if type(name) == "table" then return name end -- already a zone
  if name == nil or name == "" then name = "UTC" end
  if type(name) ~= "string" then usage("time zone must be a string such as \"Asia/Tokyo\"") end
  local z = zones[name]
  if z then return z end
  if name == "UTC" or name == "GMT" or name == "Z" or name == "Etc/UTC" then
    z = { fixed = 0 }
  else
    local sign, h, m = name:match("^([%+%-])(%d%d):?(%d%d)$")
    if sign then
      z = { fixed = (sign == "-" and -1 or 1) * (tonumber(h) * 3600 + tonumber(m) * 60) }
    else
      if not name:match("^[%w_%+%-]+[%w_%+%-/]*$") or name:find("..", 1, true) then
        usage(("unknown time zone %q"):format(name))
      end
      local dir = os.getenv("TZDIR") or "/usr/share/zoneinfo"
      local f = io.open(dir .. "/" .. name, "rb")
      local data = f and f:read("a")
      if f then f:close() end
      if not data or data:sub(1, 4) ~= "TZif" then
        usage(("unknown time zone %q (no zoneinfo file %s/%s)"):format(name, dir, name))
      end
      z = read_tzif(data, name)
    end
  end
  z.name = name
  z.offset = z.fixed and function() return z.fixed end or function(_, t) return tzif_offset(z, t) end
  zones[name] = z
  return z
end

-- The UTC instant of local wall-clock time lt (seconds since the local
-- epoch): the first of two in an overlap; shifted forward across a gap.
local function to_utc(z, lt)
  if z.fixed then return lt - z.fixed end
  local oa, ob = z:offset(lt - 86400 - 14 * 3600), z:offset(lt + 86400 + 14 * 3600)
  local best
  for _, o in ipairs { oa, ob } do
    local u = lt - o
    if z:offset(u) == o and (not best or u < best) then best = u end
  end
  if best then return best end
  -- in a gap: keep the distance from the change, with the offset before it
  return lt - oa
end

-- --------------------------------------------------------------------------
-- expressions

local ALIASES = {
  ["@hourly"] = "0 * * * *", ["@daily"] = "0 0 * * *", ["@midnight"] = "0 0 * * *",
  ["@weekly"] = "0 0 * * 0", ["@monthly"] = "0 0 1 * *", ["@yearly"] = "0 0 1 1 *",
  ["@annually"] = "0 0 1 1 *",
}
local MONTH_NAMES = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8,
  sep = 9, oct = 10, nov = 11, dec = 12 }
local DOW_NAMES = { sun = 0, mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6 }
local FIELDS = {
  { "minute", 0, 59 }, { "hour", 0, 23 }, { "day of month", 1, 31 },
  { "month", 1, 12, MONTH_NAMES }, { "day of week", 0, 7, DOW_NAMES },
}

local function parse_field(expr, text, spec)
  local what, lo, hi, names = spec[1], spec[2], spec[3], spec[4]
  local set, list = {}, {}
  local function value(s)
    local v = tonumber(s)
    if not v and names then v = names[s:lower()] end
    if not v or math.type(v) ~= "integer" or v < lo or v > hi then
      usage(("cron %q: %s %q is not in %d-%d"):format(expr, what, s, lo, hi))
    end
    return v
  end
  for part in (text .. ","):gmatch("([^,]*),") do
    if part == "" then usage(("cron %q: empty item in the %s field"):format(expr, what)) end
    local range, step = part:match("^([^/]+)/(%d+)$")
    if not range then range = part end
    if part:find("/", 1, true) and not step then usage(("cron %q: bad step in %q"):format(expr, part)) end
    step = step and tonumber(step) or 1
    if step < 1 then usage(("cron %q: step must be at least 1 in %q"):format(expr, part)) end
    local a, b
    if range == "*" then
      a, b = lo, hi
      if what == "day of week" then b = 6 end
    else
      local x, y = range:match("^([^%-]+)%-([^%-]+)$")
      if x then
        a, b = value(x), value(y)
        if a > b then usage(("cron %q: range %q runs backwards"):format(expr, range)) end
      else
        a = value(range)
        b = (step > 1) and (what == "day of week" and 6 or hi) or a
      end
    end
    for v = a, b, step do
      if what == "day of week" and v == 7 then v = 0 end
      set[v] = true
    end
  end
  for v = lo, hi do if set[v] then list[#list + 1] = v end end
  return set, list
end

local Expr = {}
Expr.__index = Expr
Expr.__name = "td.cronexpr"
function Expr.__tostring(e) return "cron(" .. e.text .. ")" end

--- cronexpr.parse(text) -> expression. Raises a `usage` error naming the
-- field for anything malformed.
function M.parse(text)
  if type(text) ~= "string" then usage("a cron expression must be a string such as \"0 2 * * *\"") end
  local expr = text:match("^%s*(.-)%s*$")
  local five = ALIASES[expr:lower()] or expr
  local f = {}
  for w in five:gmatch("%S+") do f[#f + 1] = w end
  if #f ~= 5 then
    usage(("cron %q: five fields expected (minute hour day-of-month month day-of-week), got %d"):format(text, #f))
  end
  local e = setmetatable({ text = expr }, Expr)
  e.min, e.minutes = parse_field(text, f[1], FIELDS[1])
  e.hour, e.hours = parse_field(text, f[2], FIELDS[2])
  e.dom = parse_field(text, f[3], FIELDS[3])
  e.month = parse_field(text, f[4], FIELDS[4])
  e.dow = parse_field(text, f[5], FIELDS[5])
  e.dom_star = f[3]:sub(1, 1) == "*"
  e.dow_star = f[5]:sub(1, 1) == "*"
  return e
end

-- does local day `d` (days since the epoch) match the date fields?
local function day_matches(e, d)
  local _, m, dd = civil_from_days(d)
  if not e.month[m] then return false end
  local wd = (d + 4) % 7
  if e.dom_star or e.dow_star then return e.dom[dd] and e.dow[wd] end
  return e.dom[dd] or e.dow[wd]
end

--- e:times(from, to, tz) -> array of the epoch seconds t, from <= t < to,
-- the expression names in zone tz (default UTC), in order. Raises `usage`
-- when there would be more than opts.limit (default 100000).
function Expr:times(from, to, tz, opts)
  local z = M.zone(tz)
  local limit = opts and opts.limit or 100000
  local out, seen = {}, {}
  if to <= from then return out end
  -- local days that can hold a time in [from, to): offsets are within +-26h
  local d0 = floor((from - 26 * 3600) / 86400)
  local d1 = floor((to + 26 * 3600) / 86400)
  for d = d0, d1 do
    if day_matches(self, d) then
      for _, h in ipairs(self.hours) do
        for _, mi in ipairs(self.minutes) do
          local u = to_utc(z, d * 86400 + h * 3600 + mi * 60)
          if u >= from and u < to and not seen[u] then
            seen[u] = true
            out[#out + 1] = u
            if #out > limit then
              usage(("cron %q names more than %d times in the range"):format(self.text, limit))
            end
          end
        end
      end
    end
  end
  table.sort(out)
  return out
end

--- e:next(after, tz) -> the first epoch second strictly after `after` the
-- expression names in zone tz; nil when there is none within 5 years.
function Expr:next(after, tz)
  local from = floor(after) + 1
  local stop = from + 5 * 366 * 86400
  local span = 3600
  while from < stop do
    local ts = self:times(from, from + span, tz)
    if ts[1] then return ts[1] end
    from = from + span
    if span < 8 * 86400 then span = span * 2 end
  end
  return nil
end

--- e:matches(t, tz) -> whether epoch second t is one of the expression's times.
function Expr:matches(t, tz)
  local ts = self:times(t, t + 1, tz)
  return ts[1] == t
end

return M
