--- td.config: where the API key and endpoints come from.
-- Precedence: explicit options > environment (TD_API_KEY or
-- TREASURE_DATA_API_KEY, TD_API_SERVER, TD_WORKFLOW_SERVER) >
-- ~/.td/td.conf (or TD_CONFIG_PATH / TREASURE_DATA_CONFIG_PATH; the td
-- CLI's format) > defaults (region us).
local errors = require "td.errors"
local redact = require "td.redact"

local M = {}

--- Regions: core API host and workflow API host.
M.REGIONS = {
  us = { api = "api.treasuredata.com", workflow = "api-workflow.treasuredata.com" },
  jp = { api = "api.treasuredata.co.jp", workflow = "api-workflow.treasuredata.co.jp" },
  eu01 = { api = "api.eu01.treasuredata.com", workflow = "api-workflow.eu01.treasuredata.com" },
  ap02 = { api = "api.ap02.treasuredata.com", workflow = "api-workflow.ap02.treasuredata.com" },
  ap03 = { api = "api.ap03.treasuredata.com", workflow = "api-workflow.ap03.treasuredata.com" },
}
local REGION_ALIASES = { us01 = "us", tokyo = "jp", jp01 = "jp", ["aws-tokyo"] = "jp", eu = "eu01" }

local getenv = os.getenv

local function env(...)
  for i = 1, select("#", ...) do
    local v = getenv((select(i, ...)))
    if v and v ~= "" then return v, (select(i, ...)) end
  end
end

local function cfgerr(msg, hint)
  errors.raise { kind = "config", message = msg, hint = hint }
end

-- files already warned about (one warning per file and process)
local warned = {}

--- Parse the td CLI's config file. Returns { ["account.apikey"] = ... } or
-- nil when the file does not exist; raises a config error on a bad line,
-- on a path that is a directory or cannot be read. A file that holds a key
-- and that other users may read gets a warning on stderr (once).
function M.read_tdconf(path)
  local kind, final, mode = require("td.core").target(path)
  if kind == "dir" then
    cfgerr(("%s is a directory, not a td.conf file"):format(path),
      "point TD_CONFIG_PATH (or config_path) at the file, or remove the directory")
  end
  local f, oerr = io.open(path, "r")
  if not f then
    if kind == "missing" or kind == nil then return nil end
    cfgerr(("cannot read %s: %s"):format(path, tostring(oerr)))
  end
  local probe, rerr = f:read(0)
  if probe == nil and rerr then
    f:close()
    cfgerr(("cannot read %s: %s"):format(path, tostring(rerr)))
  end
  local values, section, n = {}, nil, 0
  for line in f:lines() do
    n = n + 1
    line = line:match("^%s*(.-)%s*$")
    if line == "" or line:sub(1, 1) == "#" or line:sub(1, 1) == ";" then
      -- comment or blank
    elseif line:match("^%[.+%]$") then
      section = line:match("^%[%s*(.-)%s*%]$")
    else
      local k, v = line:match("^([%w_]+)%s*=%s*(.-)$")
      if not k then
        f:close()
        cfgerr(("%s:%d: invalid config line"):format(path, n))
      end
      values[(section and section .. "." or "") .. k] = v
    end
  end
  f:close()
  -- a key in the file is a secret the process knows, used or not
  local key = values["account.apikey"]
  redact.add(key)
  if key and key ~= "" and kind == "file" and mode and mode & 4 ~= 0 and not warned[final] then
    warned[final] = true
    require("td.log").warn("%s holds an API key and any user on this machine can read it (mode %03o); run: chmod 600 %s",
      path, mode & 511, path)
  end
  return values
end

local function is_loopback(host)
  return host == "localhost" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
    or host == "[::1]" or host == "::1"
end

--- Normalise an endpoint: a bare host gets https://; http:// only for
-- loopback hosts unless insecure_http is set. Returns "scheme://host[:port][/base]".
function M.normalize_endpoint(ep, insecure_http, what)
  what = what or "endpoint"
  if type(ep) ~= "string" or ep == "" then cfgerr(what .. " must be a non-empty string") end
  ep = ep:gsub("/+$", "")
  local scheme, rest = ep:match("^(%a[%w+.-]*)://(.+)$")
  if not scheme then scheme, rest = "https", ep end
  scheme = scheme:lower()
  if scheme ~= "https" and scheme ~= "http" then
    cfgerr(("%s %q: only https:// (or http:// for a local test server) is supported"):format(what, ep))
  end
  local host = rest:match("^(%[[^%]]+%])") or rest:match("^([^:/]+)")
  if not host or host == "" then cfgerr(("%s %q has no host"):format(what, ep)) end
  if scheme == "http" and not insecure_http and not is_loopback(host:lower()) then
    cfgerr(("%s %q uses plain http://, which would send the API key unencrypted"):format(what, ep),
      "use https://, or pass insecure_http = true if you really mean it")
  end
  return scheme .. "://" .. rest
end

local function host_of(url)
  return url:match("^%a+://%[?([^/%]:]+)")
end

--- The workflow endpoint the td CLI derives from a core API endpoint.
function M.derive_workflow(api)
  local scheme, host, port = api:match("^(%a+)://([^/:]+)(:?%d*)")
  if not host then return nil end
  local rest = host:lower():match("^api(.*)$")
  if rest then
    local stage = rest:match("^%-staging") or rest:match("^%-development") or ""
    rest = rest:sub(#stage + 1)
    local suffix = rest:match("^(%-[%w]+)%.") or ""
    rest = rest:sub(#suffix + 1)
    if rest:sub(1, 1) == "." then
      rest = rest:sub(2)
      local connect = rest:match("^connect%.") or ""
      rest = rest:sub(#connect + 1)
      local site = rest:match("^(%w+)%.treasuredata%.")
      site = (site == "eu01" or site == "ap02" or site == "ap03") and site .. "." or ""
      rest = rest:sub(#site + 1)
      local tld = rest:match("^treasuredata%.(.+)$")
      if tld == "com" or tld == "co.jp" then
        return ("https://api%s-workflow%s.%s%streasuredata.%s"):format(stage, suffix, connect, site, tld)
      end
    end
  end
  if is_loopback(host) then return scheme .. "://" .. host .. port end
  return nil
end

--- Resolve a configuration table from explicit options and the
-- environment. Returns { apikey, endpoint, workflow_endpoint, region,
-- sources = { apikey = "TD_API_KEY", ... } }. Missing key is allowed here;
-- the client raises when a call needs it.
function M.resolve(opts, fname)
  if opts ~= nil and type(opts) ~= "table" then
    errors.raise { kind = "usage", message = ("bad argument 'opts' to '%s' (table expected, got %s)")
      :format(fname or "td.config", type(opts)) }
  end
  opts = opts or {}
  local src = {}
  local conf_path, conf_src = opts.config_path, "option config_path"
  if not conf_path then
    conf_path, conf_src = env("TREASURE_DATA_CONFIG_PATH", "TD_CONFIG_PATH")
    if not conf_path then
      local home = getenv("HOME")
      conf_path = home and (home .. "/.td/td.conf") or nil
      conf_src = "~/.td/td.conf"
    end
  end
  local conf = conf_path and M.read_tdconf(conf_path) or {}
  local conf_label = conf_path and (conf_src == "~/.td/td.conf" and conf_src or conf_path)

  -- API key
  local key, ksrc = opts.apikey, "option apikey"
  if key ~= nil and (type(key) ~= "string" or key == "") then
    cfgerr("apikey must be a non-empty string")
  end
  if not key then key, ksrc = env("TD_API_KEY", "TREASURE_DATA_API_KEY") end
  if not key and conf["account.apikey"] and conf["account.apikey"] ~= "" then
    key, ksrc = conf["account.apikey"], conf_label
  end
  if key then
    key = key:gsub("^TD1%s+", "")
    redact.add(key)
    src.apikey = ksrc
  end

  -- region
  local region = opts.region
  if region ~= nil then
    if type(region) ~= "string" then cfgerr("region must be a string") end
    region = region:lower()
    region = REGION_ALIASES[region] or region
    if not M.REGIONS[region] then
      local names = {}
      for k in pairs(M.REGIONS) do names[#names + 1] = k end
      table.sort(names)
      cfgerr(("unknown region %q (known: %s, tokyo)"):format(opts.region, table.concat(names, ", ")))
    end
    src.region = "option region"
  end

  -- core endpoint
  local ep, esrc = opts.endpoint, "option endpoint"
  if not ep and region then ep, esrc = M.REGIONS[region].api, "option region" end
  if not ep then ep, esrc = env("TD_API_SERVER", "TREASURE_DATA_API_SERVER") end
  if not ep and conf["account.endpoint"] then ep, esrc = conf["account.endpoint"], conf_label end
  if not ep then ep, esrc = M.REGIONS.us.api, "default" end
  ep = M.normalize_endpoint(ep, opts.insecure_http, "endpoint")
  src.endpoint = esrc

  -- workflow endpoint
  local wf, wsrc = opts.workflow_endpoint, "option workflow_endpoint"
  if not wf and region then wf, wsrc = M.REGIONS[region].workflow, "option region" end
  if not wf then wf, wsrc = env("TD_WORKFLOW_SERVER", "TREASURE_DATA_WORKFLOW_ENDPOINT") end
  if not wf then wf, wsrc = M.derive_workflow(ep), "derived from endpoint" end
  if wf then
    wf = M.normalize_endpoint(wf, opts.insecure_http, "workflow_endpoint")
    src.workflow_endpoint = wsrc
  end

  if not region then
    local h = host_of(ep)
    for name, r in pairs(M.REGIONS) do
      if r.api == h then region = name end
    end
  end

  return {
    apikey = key,
    endpoint = ep,
    workflow_endpoint = wf,
    region = region,
    user = conf["account.user"],
    sources = src,
  }
end

--- A printable view of a resolved configuration (the key redacted).
function M.describe(c)
  return {
    apikey = c.apikey and redact.key(c.apikey) or nil,
    endpoint = c.endpoint,
    workflow_endpoint = c.workflow_endpoint,
    region = c.region,
    user = c.user,
    sources = c.sources,
  }
end

return M
