--- td.v3.results: saved result outputs (TD calls them results or
-- connections): named result URLs that query(), schedules and
-- job:result_export can write to. Declared as data (td/ops.lua).
local errors = require "td.errors"
local redact = require "td.redact"
local shape = require "td.v3.shape"
local args = require "td.v3.args"
local ops = require "td.ops"

local M = {}

-- a password inside a URL's user info is a secret: mask it everywhere
local function hide_password(url)
  local userinfo = url:match("^%a[%w+.-]*://([^/@]*)@")
  local password = userinfo and userinfo:match(":(.*)$")
  if password and password ~= "" then redact.add(password) end
end

--- client:result(name) -> one saved result (from the list; raises not_found).
function M:result(name)
  args.name("result", "name", name)
  for _, r in ipairs(self:results()) do
    if r.name == name then return r end
  end
  errors.raise { kind = "not_found", status = 404, message = ("Result '%s' does not exist"):format(name) }
end

local NAME = { "name", "name", "the saved result's name" }

ops.define(M, "v3.results", {
  { name = "results", path = "/v3/result/list",
    answer = { results = { "table" } },
    unwrap = function(d)
      local out = {}
      for i, r in ipairs(d.results) do
        if type(r.url) == "string" then hide_password(r.url) end
        out[i] = shape.object(r)
      end
      return out
    end,
    returns = "array of saved results ({name, url, organization}); passwords in the URLs are masked",
    doc = "The account's saved result outputs.", example = "for _, r in ipairs(c:results()) do print(r.name) end" },

  { name = "result", hand = true, args = { NAME }, returns = "one saved result", errors = "not_found",
    doc = "One saved result (looked up in the list).", example = 'c:result("my_pg").url' },

  { name = "create_result", describe = "create saved result {name}", method = "POST", path = "/v3/result/create/{name}",
    args = { NAME, { "url", "name", 'a result URL such as "td://@/db/table?mode=append"', to = "form" } },
    before = function(call) hide_password(call.args.url) end, result = "name",
    returns = "name", doc = "Save a result output under a name; a password in the URL is masked.",
    example = 'c:create_result("my_pg", "postgresql://user:pw@host/db/table")' },

  { name = "delete_result", describe = "delete saved result {name}", method = "POST", path = "/v3/result/delete/{name}", args = { NAME }, result = "name",
    returns = "name", doc = "Delete a saved result output.", example = 'c:delete_result("my_pg")' },
})

return M
