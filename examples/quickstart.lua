-- examples/quickstart.lua: a first look at an account.
--
--   tdlua examples/quickstart.lua [database]
--
-- Lists the databases, runs a small query on sample_datasets.www_access,
-- waits for it (with progress on a terminal) and prints the result as an
-- aligned table. It only reads: nothing is created or changed.
local db = arg[1] or "sample_datasets"
local c = td.client()              -- TD_API_KEY / TD_API_SERVER / ~/.td/td.conf

print(("Connected to %s (key %s)"):format(c.endpoint, c:config().apikey))
print()

-- databases() returns plain tables; td.pretty renders lists of them aligned
local dbs = c:databases()
local rows = {}
for i, d in ipairs(dbs) do
  rows[i] = { d.name, d.count or 0, d.permission or "", d.created_at or "" }
end
print(td.pretty.table({ "database", "rows", "permission", "created_at" }, rows))
print()

-- submit, wait (raises job_failed with TD's stderr if the query fails)
local job = c:query([[
  SELECT method, COUNT(1) AS cnt
  FROM www_access
  GROUP BY 1
  ORDER BY 2 DESC]], { db = db })
print(("Submitted job %s; waiting..."):format(job.job_id))
job:wait { timeout = 600 }
print(("Job %s finished: %d rows in %ss"):format(job.job_id, job.num_records or 0, job.duration or "?"))
print()

-- the first rows, streamed and shown as a table
print(job:result_table(10))
