--- td.cron expressions: the standard five fields
--   minute hour day-of-month month day-of-week
-- with `*`, ranges (`1-5`), steps (`*/15`, `0-30/10`), lists (`1,15,30`),
-- month names (jan-dec), weekday names (sun-sat; 0 and 7 are Sunday), and
-- the shorthands @yearly (@annually), @monthly, @weekly, @daily
-- (@midnight) and @hourly. When both day fields are restricted a day
-- matching either runs (as in cron). Times are read in a time zone from
-- the system's zoneinfo (td.zoneinfo).
local errors = require "td.errors"
local zoneinfo = require "td.zoneinfo"

local M = {}

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }
local DAYS = { sun = 0, mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6 }
local MACROS = {
  ["@yearly"] = "0 0 1 1 *", ["@annually"] = "0 0 1 1 *", ["@monthly"] = "0 0 1 * *",
  ["@weekly"] = "0 0 * * 0", ["@daily"] = "0 0 * * *", ["@midnight"] = "0 0 * * *", ["@hourly"] = "0 * * * *",
}
local FIELDS = {
  { name = "minute", lo = 0, hi = 59 },
  { name = "hour", lo = 0, hi = 23 },
  { name = "day of month", lo = 1, hi = 31 },
  { name = "month", lo = 1, hi = 12, names = MONTHS },
  { name = "day of week", lo = 0, hi = 7, names = DAYS },
}

local function bad(expr, msg)
  errors.raise { kind = "usage", message = ("td.cron: bad expression %q: %s"):format(expr, msg) }
end

local function value(expr, f, s)
  local v = tonumber(s)
  if not v and f.names then v = f.names[s:lower()] end
  if not v or math.type(v) ~= "integer" then bad(expr, ("%q is not a valid %s"):format(s, f.name)) end
  if v < f.lo or v > f.hi then bad(expr, ("%s %d is outside %d-%d"):format(f.name, v, f.lo, f.hi)) end
  return v
end

local function field(expr, f, text)
  local set, star = {}, text == "*" or text == "?"
  for item in (text .. ","):gmatch("([^,]*),") do
    if item == "" then bad(expr, "empty list item in the " .. f.name .. " field") end
    local range, step = item:match("^([^/]+)/(%d+)$")
    if not range then range = item end
    step = step and tonumber(step) or 1
    if step < 1 then bad(expr, "a step must be at least 1") end
    local a, b
    if range == "*" or range == "?" then
      a, b = f.lo, f.hi
      if f.name == "day of week" then b = 6 end
    else
      local x, y = range:match("^([^-]+)-([^-]+)$")
      if x then
        a, b = value(expr, f, x), value(expr, f, y)
        if b < a then bad(expr, ("the range %s goes backwards"):format(range)) end
      else
        a = value(expr, f, range)
        b = item:find("/", 1, true) and f.hi or a
      end
    end
    for v = a, b, step do set[(f.name == "day of week" and v == 7) and 0 or v] = true end
  end
  return set, star
end

local Cron = {}
Cron.__index = Cron

--- cron.parse(expr) -> a parsed expression (raises `usage` naming what is wrong)
function M.parse(expr)
  errors.check("td.cron", "expr", expr, "string")
  local text = MACROS[expr:lower():match("^%s*(.-)%s*$")] or expr
  local parts = {}
  for p in text:gmatch("%S+") do parts[#parts + 1] = p end
  if #parts ~= 5 then bad(expr, ("5 fields expected (minute hour day month weekday), got %d"):format(#parts)) end
  local c = setmetatable({ expr = expr }, Cron)
  c.minute = field(expr, FIELDS[1], parts[1])
  c.hour = field(expr, FIELDS[2], parts[2])
  c.dom, c.dom_star = field(expr, FIELDS[3], parts[3])
  c.month = field(expr, FIELDS[4], parts[4])
  c.dow, c.dow_star = field(expr, FIELDS[5], parts[5])
  return c
end

local days_from_civil = zoneinfo.days_from_civil

local function day_ok(c, y, m, d)
  local wday = (days_from_civil(y, m, d) + 4) % 7
  local dom, dow = c.dom[d], c.dow[wday]
  if c.dom_star and c.dow_star then return true end
  if c.dom_star then return dow end
  if c.dow_star then return dom end
  return dom or dow
end

local function next_in(set, from, hi)
  for v = from, hi do if set[v] then return v end end
end

--- cron:next(after, zone) -> the first instant (epoch seconds) strictly
-- after `after` whose wall clock in `zone` matches; nil if none within
-- eight years (an impossible date such as 31 February).
function Cron:next(after, zone)
  zone = zone or zoneinfo.load("UTC")
  local t = math.floor(after)
  local f = zoneinfo.fields(t + zone:offset(t))
  local y, mo, d, h, mi = f.year, f.month, f.day, f.hour, f.min + 1
  local limit = y + 8
  while y <= limit do
    local nm = next_in(self.month, mo, 12)
    if not nm then y, mo, d, h, mi = y + 1, 1, 1, 0, 0
    else
      if nm ~= mo then mo, d, h, mi = nm, 1, 0, 0 end
      local dim = days_from_civil(mo == 12 and y + 1 or y, mo == 12 and 1 or mo + 1, 1) - days_from_civil(y, mo, 1)
      local found = false
      while d <= dim do
        if day_ok(self, y, mo, d) then
          local nh = next_in(self.hour, h, 23)
          while nh do
            if nh ~= h then mi = 0 end
            h = nh
            local nmi = next_in(self.minute, mi, 59)
            if nmi then
              local l = (days_from_civil(y, mo, d) * 86400) + h * 3600 + nmi * 60
              local utc = zone:to_utc(l)
              if utc > after then return utc end
              mi = nmi + 1
            else
              nh = next_in(self.hour, h + 1, 23)
              mi = 0
            end
            if mi > 59 then nh = next_in(self.hour, h + 1, 23); mi = 0 end
          end
        end
        d, h, mi = d + 1, 0, 0
      end
      if not found then
        mo, d, h, mi = mo + 1, 1, 0, 0
        if mo > 12 then y, mo = y + 1, 1 end
      end
    end
  end
  return nil
end

return M
