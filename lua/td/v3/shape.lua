--- td.v3.shape: lenient normalisation of TD's JSON.
-- Unknown keys are kept; "" times become nil; JSON-in-string fields
-- (schema, hive_result_schema) are decoded into tables (the original
-- string stays available as <field>_json); ids become strings.
local json = require "cjson.safe"

local M = {}
local null = json.null

local TIME_FIELDS = { "created_at", "updated_at", "start_at", "end_at", "counter_updated_at", "scheduled_at", "next_time" }

local function clean_nulls(t)
  for k, v in pairs(t) do if v == null then t[k] = nil end end
end

local function decode_schema(t, field)
  local v = t[field]
  if type(v) == "string" then
    local ok = json.decode(v)
    if type(ok) == "table" then
      t[field .. "_json"] = v
      t[field] = ok
    end
  end
end

--- Normalise a job (list element, show, status).
function M.job(t)
  clean_nulls(t)
  for _, f in ipairs(TIME_FIELDS) do if t[f] == "" then t[f] = nil end end
  if t.job_id ~= nil then t.job_id = tostring(t.job_id) end
  if t.job ~= nil and t.job_id == nil then t.job_id = tostring(t.job) end
  decode_schema(t, "hive_result_schema")
  for _, f in ipairs { "duration", "cpu_time", "result_size", "num_records", "priority", "retry_limit" } do
    if type(t[f]) == "string" and tonumber(t[f]) then t[f] = tonumber(t[f]) end
  end
  -- duration: whole seconds; for a started job without one, measured from
  -- start_at up to end_at (or up to now while it runs)
  if t.duration == nil and t.start_at then
    local time = require "td.time"
    local s = time.parse(t.start_at)
    local e = t.end_at and time.parse(t.end_at)
    if s and not e and (t.status == "running" or t.status == "booting") then e = os.time() end
    if s and e then t.duration = math.max(0, e - s) end
  end
  if math.type(t.duration) == "float" then t.duration = math.floor(t.duration) end
  if type(t.debug) == "table" then clean_nulls(t.debug) end
  return t
end

--- Normalise a table (list element, show, recover); its id becomes a string.
function M.table(t)
  clean_nulls(t)
  for _, f in ipairs(TIME_FIELDS) do if t[f] == "" then t[f] = nil end end
  if t.id ~= nil then t.id = tostring(t.id) end
  decode_schema(t, "schema")
  return t
end

--- Normalise a database; its id (and user_id) become strings.
function M.database(t)
  clean_nulls(t)
  for _, f in ipairs(TIME_FIELDS) do if t[f] == "" then t[f] = nil end end
  if t.id ~= nil then t.id = tostring(t.id) end
  if t.user_id ~= nil then t.user_id = tostring(t.user_id) end
  return t
end

--- Normalise any other object (schedule, saved result, user, policy, ...):
-- nulls and "" times become absent, the listed id fields (default: id)
-- become strings, and a JSON-in-string `schema` is decoded.
function M.object(t, ids)
  if type(t) ~= "table" then return t end
  clean_nulls(t)
  for _, f in ipairs(TIME_FIELDS) do if t[f] == "" then t[f] = nil end end
  for _, f in ipairs(ids or { "id" }) do
    if t[f] ~= nil and type(t[f]) ~= "table" then t[f] = tostring(t[f]) end
  end
  decode_schema(t, "schema")
  return t
end

--- Column names from a decoded hive_result_schema ({{name, type}, ...}).
function M.columns(schema)
  local names = {}
  for i, col in ipairs(schema or {}) do
    local name = type(col) == "table" and col[1] or nil
    names[i] = (type(name) == "string" and name ~= "") and name or ("_col" .. (i - 1))
  end
  return names
end

return M
