--- td.pretty: printing for people (the REPL, examples).
-- pretty.table(columns, rows) renders an aligned text table;
-- pretty.show(v) renders any value; pretty.print_values(...) is what the
-- REPL calls with a line's results.
local M = {}

local null = require("td.core").null
local concat = table.concat

local function width(s)
  -- display width: count UTF-8 code points, not bytes
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function cell(v)
  if v == nil or v == null then return "NULL" end
  if type(v) == "table" then return M.show(v, 1) end
  local s = tostring(v)
  s = s:gsub("[%c]", function(c) return c == "\t" and " " or (c == "\n" and "\\n" or "?") end)
  if width(s) > 60 then s = s:sub(1, 57) .. "..." end
  return s
end

--- An aligned table. columns: array of names; rows: arrays (or maps by name).
-- table(columns, rows [, total]) -> text ending in "(N rows)"; `total`, the
-- size of what `rows` was taken from, gives "(first 3 of 50 rows)" when
-- larger than #rows (true: "(first 3 rows)" when the size is unknown).
function M.table(columns, rows, total)
  local n = #columns
  local cells, widths = {}, {}
  for i = 1, n do widths[i] = width(tostring(columns[i])) end
  for r, row in ipairs(rows) do
    local line = {}
    for i = 1, n do
      local v = row[i]
      if v == nil and type(columns[i]) == "string" then v = row[columns[i]] end
      local s = cell(v)
      line[i] = s
      if width(s) > widths[i] then widths[i] = width(s) end
    end
    cells[r] = line
  end
  local function fmt(line, numeric)
    local out = {}
    for i = 1, n do
      local s = line[i]
      local pad = (" "):rep(widths[i] - width(s))
      out[i] = (numeric and numeric[i]) and (pad .. s) or (s .. pad)
    end
    return "| " .. concat(out, " | ") .. " |"
  end
  local numeric = {}
  for i = 1, n do
    local all = #rows > 0
    for _, line in ipairs(cells) do
      if not (tonumber(line[i]) or line[i] == "NULL") then all = false break end
    end
    numeric[i] = all
  end
  local sep = {}
  for i = 1, n do sep[i] = ("-"):rep(widths[i]) end
  local out = { fmt(columns), "|-" .. concat(sep, "-|-") .. "-|" }
  for _, line in ipairs(cells) do out[#out + 1] = fmt(line, numeric) end
  if total == true then
    out[#out + 1] = ("(first %d row%s)"):format(#rows, #rows == 1 and "" or "s")
  elseif type(total) == "number" and total > #rows then
    out[#out + 1] = ("(first %d of %d rows)"):format(#rows, total)
  else
    out[#out + 1] = ("(%d row%s)"):format(#rows, #rows == 1 and "" or "s")
  end
  return concat(out, "\n")
end

local function is_array(t)
  local n = #t
  if n == 0 then return next(t) == nil end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  return keys
end

local PREFERRED = { "name", "id", "job_id", "status", "type", "database", "count" }

--- Columns for an array of records: scalar fields, well-known ones first.
local function record_columns(list)
  local seen, cols = {}, {}
  for _, k in ipairs(PREFERRED) do
    for _, rec in ipairs(list) do
      if type(rec) == "table" and rec[k] ~= nil and type(rec[k]) ~= "table" then
        seen[k] = true
        cols[#cols + 1] = k
        break
      end
    end
  end
  local rest = {}
  for _, rec in ipairs(list) do
    for k, v in pairs(rec) do
      if type(k) == "string" and not seen[k] and type(v) ~= "table" and not k:match("_json$") then
        seen[k] = true
        rest[#rest + 1] = k
      end
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do cols[#cols + 1] = k end
  return cols
end

--- Render any value readably (tables in Lua syntax, depth-limited).
function M.show(v, depth, indent)
  depth = depth or 3
  indent = indent or ""
  if v == null then return "null" end
  local t = type(v)
  if t == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if next(v) == nil then return "{}" end
  if depth <= 0 then return "{...}" end
  local parts = {}
  if is_array(v) then
    for _, x in ipairs(v) do parts[#parts + 1] = M.show(x, depth - 1, indent .. "  ") end
  else
    for _, k in ipairs(sorted_keys(v)) do
      local ks = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. M.show(k, 1) .. "]")
      parts[#parts + 1] = ks .. " = " .. M.show(v[k], depth - 1, indent .. "  ")
    end
  end
  local one = "{ " .. concat(parts, ", ") .. " }"
  if #one <= 100 then return one end
  return "{\n" .. indent .. "  " .. concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

--- How the REPL shows a value: arrays of records as aligned tables.
function M.render(v)
  if type(v) == "table" and getmetatable(v) == nil and #v > 0 and is_array(v) then
    local all_records = true
    for _, x in ipairs(v) do
      if type(x) ~= "table" or is_array(x) then all_records = false break end
    end
    if all_records then return M.table(record_columns(v), v) end
  end
  return M.show(v)
end

--- Print values the way the REPL does.
function M.print_values(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.render((select(i, ...))) end
  io.stdout:write(concat(out, "\t"), "\n")
end

return M
