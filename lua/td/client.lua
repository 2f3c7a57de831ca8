--- td.client: a configured connection to TD (core API and workflow API).
-- td.client{apikey=, endpoint=, workflow_endpoint=, region=, trace=,
--   max_retries=, retry_base_delay=, retry_max_delay=, retry_max_time=,
--   connect_timeout=, timeout=, stall_timeout=, ca_file=, insecure_http=,
--   max_connections=}
-- max_connections (default 64): the cap on open connections, which also
-- caps the requests in flight; it applies to every client of the process
-- (they share one transfer loop, td.core.configure).
-- stall_timeout (default 60 s): a request that receives no byte for that
-- long fails with a `timeout` error, which is retried (reads) or resumed
-- (result streams) within the retry budget; timeout (default 300 s) bounds
-- a whole JSON call. read_timeout is the former name of stall_timeout.
-- The API methods live in td/v3/*.lua (and the workflow API in
-- td/workflow/); this file holds construction, the secret and the escape
-- hatch client:request().
local config = require "td.config"
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"

local M = {}

local Client = {}
Client.__name = "td.client"
local methods = {}
M.methods = methods

-- the API key is kept out of the object so that printing, dumping or
-- serialising a client can never show it
local secrets = setmetatable({}, { __mode = "k" })

local lazy = {} -- field name -> function(client) returning the value
local pending = {} -- modules whose methods are registered on first need
local plain = {} -- client fields that may be nil: never a reason to load modules

-- Register the pending modules, in order, until one provides k (or none is
-- left): a script that only queries never compiles the access-control code.
local function load_pending(k)
  while methods[k] == nil and pending[1] do
    local t = require(table.remove(pending, 1))
    for name, fn in pairs(t) do methods[name] = fn end
  end
  return methods[k]
end

function Client.__index(self, k)
  local m = methods[k]
  if m ~= nil then return m end
  local make = lazy[k]
  if make then
    local v = make(self)
    rawset(self, k, v)
    return v
  end
  if plain[k] then return nil end
  return load_pending(k)
end

function Client.__tostring(c)
  local key = secrets[c]
  return ("td.client(%s, key %s)"):format(c.endpoint, key and redact.key(key) or "none")
end

--- The names the REPL's Tab offers on a client: every API method, loaded
-- or not, and the lazily built fields (workflow).
function Client.__complete()
  local names = {}
  for k in pairs(M.all_methods()) do names[#names + 1] = k end
  for k in pairs(lazy) do names[#names + 1] = k end
  return names
end

--- Register methods (a table of name -> function(client, ...)).
function M.extend(t)
  for k, v in pairs(t) do methods[k] = v end
end

--- Register a lazily built field (e.g. client.workflow).
function M.lazy(name, make) lazy[name] = make end

--- Register modules (names for require, each returning name -> function)
-- whose methods are loaded when a client first needs one of them.
function M.extend_lazily(names)
  for _, name in ipairs(names) do pending[#pending + 1] = name end
end

--- Every method, with all pending modules loaded (for listings and checks).
function M.all_methods()
  load_pending(nil)
  return methods
end

local NUM_OPTS = {
  max_retries = 5, retry_base_delay = 0.5, retry_max_delay = 30, retry_max_time = 300,
  connect_timeout = 30, timeout = 300, stall_timeout = 60,
}
local KNOWN = {
  apikey = true, endpoint = true, workflow_endpoint = true, region = true, trace = true,
  ca_file = true, insecure_http = true, config_path = true, dry_run = true, max_connections = true,
  read_timeout = true, -- the former name of stall_timeout
}
for k in pairs(NUM_OPTS) do KNOWN[k] = true end
for k in pairs(KNOWN) do plain[k] = true end
for _, k in ipairs { "endpoint", "workflow_endpoint", "region", "sources" } do plain[k] = true end

--- Create a client. Options override the environment and ~/.td/td.conf.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then errors.check("td.client", "opts", opts, "table") end
  opts = opts or {}
  errors.opts("td.client", opts, KNOWN)
  local cfg = config.resolve(opts)
  local host = package.loaded["td.host"] or {}
  local c = {
    endpoint = cfg.endpoint,
    workflow_endpoint = cfg.workflow_endpoint,
    region = cfg.region,
    trace = opts.trace, dry_run = opts.dry_run,
    ca_file = opts.ca_file,
    sources = cfg.sources,
  }
  if c.trace == nil then c.trace = host.verbose or false end
  if c.dry_run == nil then c.dry_run = host.dry_run or false end
  if opts.stall_timeout == nil and opts.read_timeout ~= nil then
    local o2 = {}
    for k, v in pairs(opts) do o2[k] = v end
    o2.stall_timeout, o2.read_timeout = opts.read_timeout, nil
    opts = o2
  end
  for k, def in pairs(NUM_OPTS) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 0) then
      errors.raise { kind = "usage", message = ("td.client: option %s must be a non-negative number"):format(k) }
    end
    c[k] = v or def
  end
  if opts.max_connections ~= nil then
    errors.check("td.client", "max_connections", opts.max_connections, "integer")
    require("td.core").configure { max_connections = opts.max_connections }
  end
  setmetatable(c, Client)
  secrets[c] = cfg.apikey
  return c
end

function M.is(v) return getmetatable(v) == Client end

--- The API key (internal; raises a config error when none is configured).
function methods:_key()
  local k = secrets[self]
  if not k then
    errors.raise {
      kind = "config", message = "no TD API key configured",
      hint = "set TD_API_KEY, pass td.client{apikey = ...}, or put apikey under [account] in ~/.td/td.conf",
    }
  end
  return k
end

function methods:_workflow_base()
  if not self.workflow_endpoint then
    errors.raise {
      kind = "config", message = "no workflow endpoint for " .. self.endpoint,
      hint = "pass td.client{workflow_endpoint = ...} or set TD_WORKFLOW_SERVER",
    }
  end
  return self.workflow_endpoint
end

--- Where each setting came from, with the key redacted.
function methods:config()
  return config.describe {
    apikey = secrets[self], endpoint = self.endpoint, workflow_endpoint = self.workflow_endpoint,
    region = self.region, sources = self.sources,
  }
end

--- The escape hatch: client:request(method, path, {query=, form=, json=,
-- body=, headers=, base = "api"|"workflow", idempotent=, raw=}) -> data, response
function methods:request(method, path, opts)
  errors.check("client:request", "method", method, "string")
  errors.check("client:request", "path", path, "string")
  if opts ~= nil then errors.check("client:request", "opts", opts, "table") end
  if path:sub(1, 1) ~= "/" then
    errors.raise { kind = "usage", message = ("client:request: path must start with '/' (got %q)"):format(path) }
  end
  local r = {}
  for k, v in pairs(opts or {}) do r[k] = v end
  r.method = method:upper()
  r.path = path
  r.url = nil
  return http.request(self, r)
end

return M
