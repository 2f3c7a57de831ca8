--- td.dryrun: what `tdlua --dry-run` (or td.client{dry_run = true}) does,
-- in one place. A request that would change something is not sent: td.http
-- hands it to `dryrun.intercept`, which prints one line on stderr saying
-- what would happen in TD's words, then the request:
--   [dry-run] would submit a presto query on database web:
--       SELECT country, COUNT(1) ...
--     (POST /v3/job/issue/presto/web)
-- The words come from the caller (the request's `describe`, a string or a
-- function returning one; declared operations describe themselves); a
-- request without them is told from its v3 path ("/v3/table/create/web/t":
-- "create table web t") or shown as it is, readably (method, path and its
-- form fields, not URL-encoded). Reads are sent as
-- usual. A call that would create a job or an attempt returns a placeholder
-- (`dryrun.job`, `dryrun.attempt`): waiting on it finishes at once, its
-- results are empty, and what it would do next (kill, retry, download,
-- export) is printed the same way, never sent.
local redact = require "td.redact"

local M = {}

--- The id of every placeholder object.
M.ID = "(dry-run)"

--- Print one dry-run line (redacted) on stderr: "[dry-run] would <text>".
-- say(text) -> nothing.
function M.say(text)
  io.stderr:write("[dry-run] would ", redact.text(tostring(text)), "\n")
  io.stderr:flush()
end

--- Indent a block of text (SQL, a definition) for a dry-run line.
-- block(s) -> "\n    line1\n    line2" with trailing blank lines dropped.
function M.block(s)
  s = tostring(s):gsub("%s+$", "")
  -- drop the common leading indentation of the lines (a [[...]] literal's)
  local common
  for line in (s .. "\n"):gmatch("(.-)\n") do
    if line:find("%S") then
      local ind = #line:match("^[ \t]*")
      if not common or ind < common then common = ind end
    end
  end
  local out = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do
    out[#out + 1] = "    " .. line:sub((common or 0) + 1)
  end
  while out[1] and not out[1]:find("%S") do table.remove(out, 1) end
  return "\n" .. table.concat(out, "\n")
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- the path (and query) of a URL, readable
local function readable_path(url)
  local p = url:match("^%a[%w+.-]*://[^/]+(/.*)$") or url
  return unescape(p)
end

-- form fields as `key=value` (values quoted when they have spaces), sorted
local function readable_form(form)
  local keys = {}
  for k, v in pairs(form) do
    if v ~= nil and type(v) ~= "table" and type(v) ~= "userdata" then keys[#keys + 1] = tostring(k) end
  end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = tostring(form[k])
    if v:find("[%s\"]") then v = ("%q"):format(v) end
    out[#out + 1] = k .. "=" .. v
  end
  return table.concat(out, " ")
end

--- The dry-run branch of td.http.request: print what the request `r`
-- (method, url shown, form, describe) would do, and return the answer a
-- caller gets instead of the server's: data `{dry_run = true}` and the
-- response `{status = 0, headers = {}, body = "", dry_run = true, attempts = 0}`.
function M.intercept(r, method, url)
  local what = r.describe
  if type(what) == "function" then what = what(r) end
  local req = method .. " " .. readable_path(url)
  local line
  local v3 = readable_path(url):match("^/v3/([%w_]+/[%w_]+.*)$")
  if not what and v3 then
    -- TD's v3 paths are /v3/<noun>/<verb>/<arguments>: "create table web t"
    local noun, verb, rest = v3:match("^([%w_]+)/([%w_]+)/?(.*)$")
    local words = { (verb:gsub("_", " ")), (noun:gsub("_", " ")) }
    for seg in rest:gsub("%?.*$", ""):gmatch("[^/]+") do words[#words + 1] = seg end
    what = table.concat(words, " ")
    local f = type(r.form) == "table" and readable_form(r.form) or ""
    if f ~= "" then what = what .. " with " .. f end
  end
  if what then
    line = ("%s\n  (%s)"):format(what, req)
  else
    line = "send " .. req
    if type(r.form) == "table" then
      local f = readable_form(r.form)
      if f ~= "" then line = line .. "  " .. f end
    elseif r.json ~= nil then
      local ok, s = pcall(require("cjson.safe").encode, r.json)
      if ok and s then line = line .. "  " .. s end
    end
  end
  M.say(line)
  return { dry_run = true }, { status = 0, headers = {}, body = "", dry_run = true, attempts = 0 }
end

local function empty_rows() return function() return nil end end

-- the label of a placeholder in dry-run lines: "the job of 'SELECT ...'"
local function job_label(job)
  if job.query then
    local q = tostring(job.query):gsub("%s+", " "):gsub("^ ", "")
    if #q > 60 then q = q:sub(1, 57) .. "..." end
    return ("the %s job (%s)"):format(job.type or "query", q)
  end
  return ("the %s job"):format(job.type or "new")
end

--- A placeholder Job for a submission that was not sent: job_id "(dry-run)",
-- status "dry-run", no rows. wait/refresh/show return it at once;
-- rows/records iterate over nothing; fetch, columns and statistics are
-- empty; result_table is empty; download, kill and result_export print
-- what they would do and write or send nothing.
-- job(client, fields) -> Job.
function M.job(client, fields)
  local t = { job_id = M.ID, status = "dry-run", num_records = 0, result_size = 0, duration = 0 }
  for k, v in pairs(fields or {}) do t[k] = v end
  t.job_id, t.status = M.ID, "dry-run"
  local job = require("td.v3.job").wrap(client, t)
  local function self_(s) return s end
  rawset(job, "dry_run", true)
  rawset(job, "wait", self_)
  rawset(job, "refresh", self_)
  rawset(job, "show", self_)
  rawset(job, "rows", empty_rows)
  rawset(job, "records", empty_rows)
  rawset(job, "columns", function() return {} end)
  rawset(job, "fetch", function() return {} end)
  rawset(job, "statistics", function() return {} end)
  rawset(job, "result_table", function()
    return setmetatable({ columns = {}, rows = {}, total = 0 }, { __name = "td.result_table",
      __tostring = function() return "(dry run: no result)" end })
  end)
  rawset(job, "kill", function(s)
    M.say("kill " .. job_label(s))
    return nil
  end)
  rawset(job, "download", function(s, path, opts)
    local target = path == "-" and "standard output" or (type(path) == "string" and path or tostring(path))
    local format = type(opts) == "table" and opts.format
    M.say(("download the result of %s to %s%s"):format(job_label(s), target, format and (" as " .. format) or ""))
    return { path = type(path) == "string" and path or nil, format = format, rows = 0, bytes = 0,
      wire_bytes = 0, connections = 0, requests = 0, elapsed = 0, dry_run = true }
  end)
  rawset(job, "result_export", function(s, opts)
    M.say(("export the result of %s to %s"):format(job_label(s), type(opts) == "table" and tostring(opts.result) or "?"))
    return M.job(client, { type = "result_export" })
  end)
  return job
end

--- A placeholder Attempt for a start or retry that was not sent: id
-- "(dry-run)", status "dry-run". wait/refresh return it at once; tasks,
-- retries and log files are empty; logs are ""; timeline prints nothing;
-- kill and retry print what they would do.
-- attempt(client, fields) -> Attempt.
function M.attempt(client, fields)
  local t = { id = M.ID, status = "dry-run" }
  for k, v in pairs(fields or {}) do t[k] = v end
  t.id, t.status = M.ID, "dry-run"
  local a = require("td.workflow.attempt").wrap(client, t)
  local function self_(s) return s end
  local function none() return {} end
  rawset(a, "dry_run", true)
  rawset(a, "wait", self_)
  rawset(a, "refresh", self_)
  rawset(a, "tasks", none)
  rawset(a, "retries", none)
  rawset(a, "log_files", none)
  rawset(a, "session", function() return nil end)
  rawset(a, "logs", function() return "" end)
  rawset(a, "log_file", function() return "" end)
  rawset(a, "follow_logs", function() return nil end)
  rawset(a, "timeline", function() return "" end)
  local label = ("the new attempt of %s/%s"):format(a.project_name or "?", a.workflow_name or "?")
  rawset(a, "kill", function(s)
    M.say("kill " .. label)
    return s
  end)
  rawset(a, "retry", function()
    M.say("retry " .. label)
    return M.attempt(client, fields)
  end)
  return a
end

return M
