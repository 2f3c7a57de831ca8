-- JSON answers through the shape checks: any JSON value is accepted or
-- rejected by every declared answer shape with a structured error.
local json = require "cjson"
local shape = require "td.shape"
local ops = require "td.ops"

-- load every declaration
for _, m in ipairs { "databases", "tables", "jobs", "schedules", "results", "users", "bulk_import",
                     "access_control", "connections", "import", "system" } do
  pcall(require, "td.v3." .. m)
end
for _, m in ipairs { "attempt", "project", "schedule", "session", "pools", "logs", "client" } do
  pcall(require, "td.workflow." .. m)
end
local specs = {}
for _, d in ipairs(ops.declarations()) do
  if d.answer then specs[#specs + 1] = { d.answer, d.key or d.name } end
end

return function(data)
  local ok, value = pcall(json.decode, data)
  if not ok then return end -- not JSON: the http layer's job
  -- check() must agree with ok() and raise only bad_response
  for _, s in ipairs(specs) do
    local good = shape.ok(value, s[1])
    local raised, err = pcall(shape.check, value, s[1], { name = s[2], body = data })
    if good ~= raised then error(err, 0) end
    if not raised and (type(err) ~= "table" or err.kind ~= "bad_response") then
      error(("BUG: %s: shape.check raised %s"):format(s[2], tostring(err)), 0)
    end
  end
end
