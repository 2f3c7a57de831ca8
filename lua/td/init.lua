--- td: the Treasure Data module.
--   local td = require "td"      -- also the global `td` inside tdlua
--   local c = td.client{ region = "jp" }
--   local job = td.query("SELECT 1", { db = "sample_datasets" }):wait()
--   for row in job:rows() do print(row[1]) end
-- Module-level shortcuts (td.query, td.jobs, td.databases, ...) use a default
-- client created on first use from the environment and ~/.td/td.conf.
-- Submodules (td.log, td.time, td.pretty, td.errors, ...) load on first use.
local VERSION = require "td.version"
local core = require "td.core"

if core.version ~= VERSION then
  error(("td.core is version %s but the td Lua modules are %s (TDLUA_LUA_DIR pointing at another checkout?)")
    :format(tostring(core.version), VERSION), 0)
end

local td = { VERSION = VERSION, null = core.null }

local SUBMODULES = {
  log = "td.log", time = "td.time", pretty = "td.pretty", errors = "td.errors",
  async = "td.async", http = "td.http", redact = "td.redact", repl = "td.repl",
  csv = "td.csv", tsv = "td.tsv", json = "td.json", jsonl = "td.jsonl",
}

-- the modules whose methods make up a client, one area of the API each
local CLIENT_MODULES = {
  "td.v3.system",
  "td.v3.databases",
  "td.v3.jobs",
  "td.v3.import",
  "td.v3.import_file",
  "td.v3.bulk_import",
  "td.v3.tables",
  "td.v3.schedules",
  "td.v3.schedule_range",
  "td.v3.results",
  "td.v3.connections",
  "td.v3.users",
  "td.v3.access_control",
}

local registered = false
local function client_mod()
  local m = require "td.client"
  if not registered then
    registered = true
    m.extend_lazily(CLIENT_MODULES)
    m.lazy("workflow", function(c) return require("td.workflow.client").new(c) end)
  end
  return m
end

--- td.client(opts) -> a new client (see td/client.lua for the options)
function td.client(opts)
  return client_mod().new(opts)
end

local default
--- The client the module-level shortcuts use (created on first use).
function td.default_client()
  if not default then default = td.client() end
  return default
end

local CONFIG_OPTS = {
  apikey = true, endpoint = true, workflow_endpoint = true, region = true, insecure_http = true, config_path = true,
}
--- td.config(opts) -> the resolved configuration: endpoint, workflow
-- endpoint, region, the key redacted, and where each came from. opts:
-- apikey, endpoint, workflow_endpoint, region, insecure_http, config_path
-- (a usage error for anything else); raises `config` for a td.conf that
-- is a directory or has a bad line.
function td.config(opts)
  local config = require "td.config"
  require("td.errors").opts("td.config", opts, CONFIG_OPTS)
  return config.describe(config.resolve(opts, "td.config"))
end

for _, name in ipairs {
  "server_status", "account", "databases", "database", "tables", "table",
  "jobs", "job", "job_status", "query", "kill", "request", "import", "import_file",
  "create_database", "delete_database", "create_table", "delete_table", "swap_table",
  "rename_table", "update_table", "update_schema", "append_schema", "tail", "deleted_tables",
  "schedules", "schedule", "create_schedule", "update_schedule", "delete_schedule",
  "run_schedule", "run_schedule_range", "schedule_history", "results", "create_result", "delete_result",
  "export", "users", "user",
} do
  td[name] = function(...)
    local c = td.default_client()
    return c[name](c, ...)
  end
end

--- td.help(x) - print the help for x (a function such as td.query, a name
-- such as "job:wait" or a topic such as "attempts"; see td/help.lua).
function td.help(x)
  return require("td.help").print(x)
end

--- td.try(fn, ...) -> fn's results, or nil, err when it raises
function td.try(fn, ...)
  local r = table.pack(pcall(fn, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  return nil, r[2]
end

local async_fns = { "spawn", "wait", "sleep", "map", "every" }
for _, name in ipairs(async_fns) do
  td[name] = function(...) return require("td.async")[name](...) end
end

--- td.wait_all(list, opts) - wait concurrently for every item of the array
-- `list`: tasks (td.spawn) or objects with :wait(opts) such as jobs and
-- attempts. opts: `collect` (default false), `concurrency` (default: all at
-- once), `progress` (one summary for the list), and the options of the
-- items' wait (timeout, ...), passed on.
-- Returns { {ok = true, value =} | {ok = false, err =}, ... } in order.
-- When any item failed, raises one `some_failed` error listing each
-- failure (err.failures = { {index =, err =} }, err.results = the records)
-- after every item has finished, so a runbook whose waits failed exits
-- non-zero; with `collect = true` it returns the records instead.
function td.wait_all(list, opts)
  local async = require "td.async"
  local errors = require "td.errors"
  errors.check("td.wait_all", "list", list, "table")
  opts = errors.opts("td.wait_all", opts, nil)
  local wait_opts
  for k, v in pairs(opts) do
    if k ~= "collect" and k ~= "concurrency" then
      wait_opts = wait_opts or {}
      wait_opts[k] = v
    end
  end
  local conc = opts.concurrency or math.max(1, #list)
  if math.type(conc) ~= "integer" or conc < 1 then
    errors.raise { kind = "usage", message = "td.wait_all: concurrency must be a positive integer" }
  end
  for i = 1, #list do
    local x = list[i]
    if getmetatable(x) ~= async.Task and not (type(x) == "table" and type(x.wait) == "function") then
      errors.raise { kind = "usage", message = ("td.wait_all: item #%d is a %s, not a task or an object with :wait()")
        :format(i, type(x)) }
    end
  end
  -- progress is one summary for the whole list (td.progress), not a line per object
  local group = require("td.progress").group(list, { enabled = opts.progress, label = "wait_all" })
  local ok, res = pcall(async.run_all, "td.wait_all", list, function(x, i)
    group:attach(i)
    local fine, v = pcall(function()
      if getmetatable(x) == async.Task then return async.wait(x) end
      return x:wait(wait_opts)
    end)
    group:finish(i, fine)
    if not fine then error(v, 0) end
    return v
  end, conc, opts.collect)
  group:done()
  if not ok then error(res, 0) end
  return res
end

-- runbook helpers (docs/runbooks.md), each documented where it is defined
local RUNBOOK_FNS = {
  step = { "td.journal", "step" },       -- resumable steps
  cron = { "td.loops", "cron" },         -- cron loops
  retry = { "td.flow", "retry" },  timeout = { "td.flow", "timeout" },  race = { "td.flow", "race" },
  on_error = { "td.run", "on_error" },   lock = { "td.run", "lock" },   strict = { "td.run", "strict" },
}
for name, where in pairs(RUNBOOK_FNS) do
  td[name] = function(...) return require(where[1])[where[2]](...) end
end

--- td.journal(path) - record td.step results in path (as --journal); see td/journal.lua.
function td.journal(path) require("td.journal").open(path) end

--- td.notify(url, message_or_table, opts) - post an alert; see td/notify.lua.
function td.notify(...) return require("td.notify")(...) end

--- td.confirm(question) - ask on the terminal; raises `declined` (exit
-- status 8) unless the answer is yes. Without a terminal it raises (a cron job cannot answer)
-- unless tdlua runs with --yes, which answers yes (and says so on stderr).
-- Under --dry-run nothing would be changed, so it answers yes as well.
function td.confirm(question)
  local errors = require "td.errors"
  local host = package.loaded["td.host"] or {}
  if host.yes or host.dry_run then
    io.stderr:write(tostring(question), " yes (", host.yes and "--yes" or "--dry-run", ")\n")
    return true
  end
  if not core.isatty(0) then
    errors.raise {
      kind = "declined", message = "confirmation needed but stdin is not a terminal: " .. tostring(question),
      hint = "run tdlua --yes to answer yes without asking",
    }
  end
  io.stderr:write(tostring(question), " [y/N] ")
  io.stderr:flush()
  local answer = io.stdin:read("l")
  if answer and answer:match("^%s*[yY]") then return true end
  errors.raise { kind = "declined", message = "not confirmed: " .. tostring(question) }
end

setmetatable(td, {
  -- the submodules, for the REPL's Tab before they are loaded
  __complete = function()
    local names = {}
    for k in pairs(SUBMODULES) do names[#names + 1] = k end
    return names
  end,
  __index = function(t, k)
    local m = SUBMODULES[k]
    if m then
      local v = require(m)
      rawset(t, k, v)
      return v
    end
    return nil
  end,
})

return td
