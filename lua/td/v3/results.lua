--- td.v3.results: saved result outputs (TD calls them results or
-- connections): named result URLs that query(), schedules and
-- job:result_export can write to.
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"

local M = {}

-- a password inside a URL's user info is a secret: mask it everywhere
local function hide_password(url)
  local userinfo = url:match("^%a[%w+.-]*://([^/@]*)@")
  local password = userinfo and userinfo:match(":(.*)$")
  if password and password ~= "" then redact.add(password) end
end

--- client:results() -> array of saved results ({name, url, organization}).
-- Passwords inside the URLs are masked in anything tdlua prints.
function M:results()
  local d = http.request(self, { path = "/v3/result/list" })
  local out = {}
  for i, r in ipairs(d.results or {}) do
    if type(r.url) == "string" then hide_password(r.url) end
    out[i] = shape.object(r)
  end
  return out
end

--- client:result(name) -> one saved result (from the list; raises not_found).
function M:result(name)
  args.name("result", "name", name)
  for _, r in ipairs(self:results()) do
    if r.name == name then return r end
  end
  errors.raise { kind = "not_found", status = 404, message = ("Result '%s' does not exist"):format(name) }
end

--- client:create_result(name, url) -> name (POST /v3/result/create/:name).
-- url is a result URL such as "td://@/db/table?mode=append" or
-- "postgresql://user:password@host/db/table"; the password is masked in
-- traces and errors.
function M:create_result(name, url)
  args.name("create_result", "name", name)
  args.name("create_result", "url", url)
  hide_password(url)
  http.request(self, { method = "POST", path = http.path("/v3/result/create/%s", name), form = { url = url } })
  return name
end

--- client:delete_result(name) -> name (POST /v3/result/delete/:name).
function M:delete_result(name)
  args.name("delete_result", "name", name)
  http.request(self, { method = "POST", path = http.path("/v3/result/delete/%s", name), form = {} })
  return name
end

return M
