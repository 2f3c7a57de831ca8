-- docs/coverage-v3.md against TD's OpenAPI description and the code:
-- every operation has a row, every row names methods that exist.
local t = require "testlib"
local test, eq, ok = t.test, t.eq, t.ok
local slurp = t.slurp

local SPEC = os.getenv("TD_OPENAPI_V3") or "tests/spec/treasure-data-td-api-v3-openapi.yml"
local DOC = "docs/coverage-v3.md"

--- The operations of an OpenAPI description, read line by line:
-- { {id =, method =, path =}, ... } in file order.
local function operations(text)
  local ops, in_paths, path, method = {}, false, nil, nil
  for line in text:gmatch("[^\n]*") do
    if line:match("^paths:") then
      in_paths = true
    elseif in_paths and line:match("^%S") then
      in_paths = false
    elseif in_paths then
      local p = line:match("^  (/%S*):%s*$")
      if p then path, method = p, nil end
      local m = line:match("^    (%a+):%s*$")
      if m then method = m:upper() end
      local id = line:match("^      operationId:%s*(%S+)")
      if id then ops[#ops + 1] = { id = id, method = method, path = path } end
    end
  end
  return ops
end

local function cells(line)
  local out = {}
  for cell in (line .. "|"):gmatch("([^|]*)|") do out[#out + 1] = cell:match("^%s*(.-)%s*$") end
  return out
end

--- The coverage document's rows: ops[operationId] = {endpoint, tdlua},
-- extra = { {endpoint, tdlua}, ... } for the second table.
local function coverage(text)
  local ops, extra, section = {}, {}, nil
  for line in text:gmatch("[^\n]*") do
    if line:match("^## Operations") then section = "ops"
    elseif line:match("^## Endpoints") then section = "extra"
    elseif line:match("^|") and not line:match("^|%-") then
      local c = cells(line:gsub("\\|", "/"):sub(2))
      if section == "ops" and c[1] ~= "operationId" then
        ops[c[1]] = { endpoint = c[2], tdlua = c[3], line = line }
      elseif section == "extra" and c[1] ~= "endpoint" then
        extra[#extra + 1] = { endpoint = c[1], tdlua = c[2], line = line }
      end
    end
  end
  return ops, extra
end

--- The methods a tdlua cell names: { {kind = "c"|"job", name =}, ... }.
local function methods_in(cell)
  local out = {}
  for kind, name in cell:gmatch("`(%a+):([%w_]+)`") do out[#out + 1] = { kind = kind, name = name } end
  return out
end

local spec_text = slurp(SPEC)
local doc_text = slurp(DOC)

test("the OpenAPI description is read: 79 operations with methods and paths", function()
  ok(spec_text, "cannot read " .. SPEC .. " (set TD_OPENAPI_V3)")
  local ops = operations(spec_text)
  eq(#ops, 79)
  for _, op in ipairs(ops) do
    ok(op.method and op.path, "method and path for " .. op.id)
  end
end)

test("every operation of the description has a row with its method and path", function()
  ok(spec_text and doc_text)
  local rows = coverage(doc_text)
  local missing, wrong = {}, {}
  local known = {}
  for _, op in ipairs(operations(spec_text)) do
    known[op.id] = true
    local row = rows[op.id]
    if not row then
      missing[#missing + 1] = op.id
    elseif row.endpoint ~= ("`%s %s`"):format(op.method, op.path) then
      wrong[#wrong + 1] = ("%s: table says %s, the description %s %s"):format(op.id, row.endpoint, op.method, op.path)
    end
  end
  eq(missing, {}, "operations missing from " .. DOC)
  eq(wrong, {}, "rows with the wrong endpoint")
  local stale = {}
  for id in pairs(rows) do if not known[id] then stale[#stale + 1] = id end end
  table.sort(stale)
  eq(stale, {}, "rows for operations the description does not have")
end)

test("every row names at least one method or says why it is left out", function()
  ok(doc_text)
  local rows, extra = coverage(doc_text)
  local bad = {}
  local function check(label, cell)
    if #methods_in(cell) == 0 and not cell:match("^left out: %S") then bad[#bad + 1] = label end
  end
  for id, row in pairs(rows) do check(id, row.tdlua) end
  for _, row in ipairs(extra) do check(row.endpoint, row.tdlua) end
  table.sort(bad)
  eq(bad, {}, "rows without a method or a reason")
  ok(#extra >= 20, "the second table is there")
end)

test("every c:name is a client method and every job:name a Job method", function()
  ok(doc_text)
  local rows, extra = coverage(doc_text)
  local c = t.client()
  local Job = require("td.v3.job").Job
  local absent, seen = {}, {}
  local function check(cell)
    for _, m in ipairs(methods_in(cell)) do
      local label = m.kind .. ":" .. m.name
      if not seen[label] then
        seen[label] = true
        local exists
        if m.kind == "c" then exists = type(c[m.name]) == "function"
        elseif m.kind == "job" then exists = type(Job[m.name]) == "function"
        end
        if not exists then absent[#absent + 1] = label end
      end
    end
  end
  for _, row in pairs(rows) do check(row.tdlua) end
  for _, row in ipairs(extra) do check(row.tdlua) end
  table.sort(absent)
  eq(absent, {}, "methods named in " .. DOC .. " that do not exist")
end)

test("the scanner notices a missing row and a misspelt method", function()
  local spec = "paths:\n  /a/b:\n    get:\n      operationId: getA\n  /c:\n    parameters:\n      - x\n    post:\n      operationId: makeC\ncomponents:\n  x: 1\n"
  local ops = operations(spec)
  eq(#ops, 2)
  eq(ops[2], { id = "makeC", method = "POST", path = "/c" })
  local doc = "## Operations\n| operationId | endpoint | tdlua |\n|---|---|---|\n| getA | `GET /a/b` | `c:no_such_method` |\n"
  local rows = coverage(doc)
  eq(rows.makeC, nil)
  local c = t.client()
  eq(type(c[methods_in(rows.getA.tdlua)[1].name]), "nil")
end)

test("the new v3 modules define no globals", function()
  local code, out, err = t.run("-e " .. t.sh_quote([[
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for _, m in ipairs { "td.v3.args", "td.v3.tables", "td.v3.schedules", "td.v3.results",
      "td.v3.connections", "td.v3.users", "td.v3.access_control", "td.v3.databases", "td.v3.jobs" } do require(m) end
    local c = td.client{ apikey = "1/x", config_path = "/nonexistent" }
    pcall(c.create_table, c, "db", "t", { schema = { { "a", "long" } } , expire_days = "x" })
    local new = {}
    for k in pairs(_G) do if not before[k] then new[#new + 1] = k end end
    print(#new, table.concat(new, ","))]]), { TDLUA_LUA_DIR = "./lua" })
  eq(code, 0, err)
  eq(out, "0\t\n")
end)
