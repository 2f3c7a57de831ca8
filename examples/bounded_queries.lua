-- examples/bounded_queries.lua: one query per day of a range, at most N
-- running at a time, all results in one CSV on standard output.
--
--   tdlua examples/bounded_queries.lua 2026-11-15 2026-11-21 [N] > pv_by_day.csv
--
-- td.map runs the function for every day, N at a time (each call looks
-- blocking; the waits run side by side in one process), and returns one
-- {ok, value | err} per day in the order of the days: one failed day does
-- not stop the others. Exit status 1 when a day failed.
local first, last, n = arg[1], arg[2], tonumber(arg[3]) or 4
if not (first and last) then
  io.stderr:write("usage: tdlua bounded_queries.lua FIRST_DAY LAST_DAY [N]\n")
  os.exit(2)
end
local days = {}
for t = td.time.parse(first), td.time.parse(last), 86400 do days[#days + 1] = os.date("!%Y-%m-%d", t) end

local results = td.map(days, function(day)
  local job = td.query(([[
    SELECT country, COUNT(1) AS pv FROM pageviews
    WHERE TD_TIME_RANGE(time, '%s', TD_TIME_ADD('%s', '1d'))
    GROUP BY 1 ORDER BY 2 DESC]]):format(day, day), { db = "web" })
  job:wait { timeout = 3600, progress = false }
  return job
end, { concurrency = n })

local out <close> = td.csv.writer("-", { columns = { "day", "country", "pv" } })
local failed = 0
for i, r in ipairs(results) do
  if r.ok then
    for row in r.value:rows() do out:write { days[i], row[1], row[2] } end
  else
    failed = failed + 1
    td.log.error("%s: %s", days[i], tostring(r.err))
  end
end
out:close()
td.log.info("%d days, %d failed, at most %d queries at a time", #days, failed, n)
if failed > 0 then os.exit(1) end
