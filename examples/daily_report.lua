-- examples/daily_report.lua: query, wait, export a day's page views by country.
--
--   tdlua examples/daily_report.lua [YYYY-MM-DD] [output-directory | -]
--
-- Submits the query (idempotently: a retried submission cannot create a
-- second job), waits with progress on a terminal (log lines in cron), and
-- writes report-<day>.csv with a header row. The file appears only once it
-- is complete (it is written to a .tmp file and renamed). With "-" the CSV
-- goes to standard output instead, for a pipe:
--   tdlua examples/daily_report.lua 2026-11-21 - | gzip > report.csv.gz
local day = arg[1] or os.date("!%Y-%m-%d", os.time() - 86400)
local dir = arg[2] or "."
local job = td.query([[
  SELECT country, COUNT(1) AS pv FROM web.pageviews
  WHERE TD_TIME_RANGE(time, ']] .. day .. [[', TD_TIME_ADD(']] .. day .. [[', '1d'))
  GROUP BY 1 ORDER BY 2 DESC]], { db = "web" })
job:wait { timeout = 3600 }                 -- raises job_failed with TD's stderr
local out = job:download(dir == "-" and "-" or (dir .. "/report-" .. day .. ".csv"), { format = "csv", header = true })
td.log.info("wrote %d rows (job %s) to %s", out.rows, job.job_id, dir == "-" and "standard output" or out.path)
