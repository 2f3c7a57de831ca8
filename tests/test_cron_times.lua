-- td.cron and td.zoneinfo: the times of a cron expression in a zone, as
-- run_schedule_range computes a schedule's times (daylight saving changes,
-- POSIX rules after the last listed change, and many zones checked against
-- Python's zoneinfo)
local t = require "testlib"
local test, eq, ok, raises_kind = t.test, t.eq, t.ok, t.raises_kind
local cron = require "td.cronexpr" -- the one cron parser and zoneinfo reader
local zoneinfo = { load = cron.zone }
local utc = td.time.utc

-- every time of expr in [from, to) in zone tz
local function times(expr, from, to, tz)
  local e, z = cron.parse(expr), zoneinfo.load(tz or "UTC")
  local out = {}
  local x = e:next(from - 1, z)
  while x and x < to do
    out[#out + 1] = x
    x = e:next(x, z)
  end
  return out
end

test("cron times: fields, lists, ranges, steps, names, aliases", function()
  local d = utc(2026, 11, 23) -- a Monday
  local ts = times("*/15 9-17 * * mon-fri", d, d + 86400)
  eq(#ts, 36)
  eq(ts[1], d + 9 * 3600)
  eq(ts[36], d + 17 * 3600 + 45 * 60)
  eq(#times("*/15 9-17 * * mon-fri", utc(2026, 11, 22), utc(2026, 11, 23)), 0, "Sunday")
  eq(#times("@daily", utc(2026, 1, 1), utc(2027, 1, 1)), 365)
  eq(#times("@hourly", utc(2026, 1, 1), utc(2026, 1, 2)), 24)
  eq(times("0 0 * * 7", utc(2026, 11, 16), utc(2026, 11, 23)), { utc(2026, 11, 22) }, "7 is Sunday")
  -- both days restricted: either matches (the 13th, and every Friday)
  eq(times("0 0 13 * fri", utc(2026, 11, 1), utc(2026, 12, 1)),
    { utc(2026, 11, 6), utc(2026, 11, 13), utc(2026, 11, 20), utc(2026, 11, 27) })
  eq(times("0 0 13 * *", utc(2026, 11, 1), utc(2026, 12, 1)), { utc(2026, 11, 13) })
  eq(cron.parse("0 0 29 2 *"):next(utc(2026, 3, 1), zoneinfo.load("UTC")), utc(2028, 2, 29))
end)

test("cron times: malformed expressions and unknown zones are usage errors", function()
  raises_kind("usage", cron.parse, "99 * * * *")
  raises_kind("usage", cron.parse, "* * * *")
  raises_kind("usage", cron.parse, "* * * foo *")
  raises_kind("usage", cron.parse, "5-1 * * * *")
  raises_kind("usage", cron.parse, "*/0 * * * *")
  raises_kind("usage", cron.parse, "1,,2 * * * *")
  raises_kind("usage", zoneinfo.load, "Mars/Olympus")
  raises_kind("usage", zoneinfo.load, "../etc/passwd")
end)

test("cron times: zones from zoneinfo across daylight saving changes", function()
  eq(cron.parse("0 2 * * *"):next(utc(2026, 11, 22), zoneinfo.load("Asia/Tokyo")), utc(2026, 11, 22, 17),
    "02:00 JST is 17:00 UTC")
  -- New York springs forward on 2026-03-08 at 02:00: 02:30 runs at 03:30 EDT
  eq(times("30 2 * * *", utc(2026, 3, 7), utc(2026, 3, 10), "America/New_York"),
    { utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30) })
  -- and falls back on 2026-11-01: 01:30 happens twice, runs once (the first)
  eq(times("30 1 * * *", utc(2026, 10, 31), utc(2026, 11, 3), "America/New_York"),
    { utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30) })
  -- after the last change listed in the file, the zone's POSIX rule applies
  local ny = zoneinfo.load("America/New_York")
  eq(cron.parse("0 12 * * *"):next(utc(2050, 7, 1), ny), utc(2050, 7, 1, 16))
  eq(cron.parse("0 12 * * *"):next(utc(2050, 12, 1), ny), utc(2050, 12, 1, 17))
end)

-- expected values computed independently with Python's zoneinfo
local CASES = {
  { "0 0 29 2 *", "Europe/London", 2332296490, 2340316800 },
  { "0 0 * * 0", "Europe/London", 1671295731, 1671321600 },
  { "30 1 * * *", "Europe/Berlin", 2186563795, 2186609400 },
  { "30 1 * * *", "Europe/Berlin", 2046379224, 2046385800 },
  { "@daily", "Asia/Tokyo", 1669453429, 1669474800 },
  { "59 23 31 * *", "Asia/Kolkata", 1840156120, 1843410540 },
  { "15 */6 1,15 * *", "Asia/Kolkata", 1616496505, 1617216300 },
  { "59 23 31 * *", "America/Los_Angeles", 2077979901, 2082787140 },
  { "0 0 29 2 *", "Europe/Berlin", 2123031207, 2214082800 },
  { "@daily", "Australia/Sydney", 2252414392, 2252498400 },
  { "@hourly", "America/Los_Angeles", 1869565080, 1869566400 },
  { "@hourly", "America/New_York", 1619317232, 1619319600 },
  { "0 0 * * 0", "Australia/Sydney", 2056389439, 2056539600 },
  { "0 2 * * *", "America/New_York", 1908550900, 1908597600 },
  { "30 1 * * *", "America/New_York", 1816402119, 1816407000 },
  { "@hourly", "America/Los_Angeles", 2253651697, 2253654000 },
  { "*/15 9-17 * * mon-fri", "Europe/London", 1868426391, 1868605200 },
  { "*/7 * * * *", "America/New_York", 1856264337, 1856264400 },
  { "0 3 * * 7", "Asia/Tokyo", 1890036534, 1890237600 },
  { "0 0 1 * *", "Australia/Sydney", 1669184679, 1669813200 },
  { "0 12 * jan,jul *", "Asia/Tokyo", 1757508666, 1767236400 },
  { "*/7 * * * *", "Asia/Tokyo", 1838678599, 1838678820 },
  { "@daily", "America/Los_Angeles", 1855556938, 1855638000 },
  { "0 0 29 2 *", "Asia/Kolkata", 1754277319, 1835375400 },
  { "30 1 * * *", "Asia/Kolkata", 1633894928, 1633896000 },
  { "0 0 1 * *", "Europe/London", 2245884707, 2248383600 },
  { "@hourly", "Asia/Kolkata", 2330105232, 2330105400 },
  { "0 1 * * *", "Europe/London", 1912494918, 1912550400 },
  { "0 3 * * 7", "Europe/Berlin", 1712095727, 1712451600 },
  { "0 2 * * *", "Asia/Tokyo", 1636568927, 1636650000 },
  { "0 3 * * 7", "Asia/Tokyo", 1848453661, 1848506400 },
  { "30 1 * * *", "Europe/London", 1713878389, 1713918600 },
  { "0 0 1 * *", "Australia/Sydney", 2109237998, 2111662800 },
  { "@hourly", "Asia/Tokyo", 1881281778, 1881284400 },
  { "0 0 29 2 *", "Asia/Tokyo", 2379878299, 2466514800 },
  { "0 12 * jan,jul *", "Asia/Kolkata", 1796522754, 1798785000 },
  { "30 2 * * *", "America/Los_Angeles", 2000752364, 2000799000 },
  { "0 0 * * 0", "Europe/Berlin", 1769523039, 1769900400 },
  { "0 3 * * 7", "Europe/London", 2246698774, 2247102000 },
  { "@daily", "Europe/London", 1838393910, 1838415600 },
}

test("cron times: next() agrees with Python's zoneinfo in many zones", function()
  for _, c in ipairs(CASES) do
    eq(cron.parse(c[1]):next(c[3], zoneinfo.load(c[2])), c[4], c[1] .. " " .. c[2] .. " after " .. c[3])
  end
end)
