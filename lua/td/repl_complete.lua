--- td.repl_complete: what Tab offers in the REPL.
-- complete.candidates(before) -> words, prefix, suffix: the completions of
-- the word before the cursor (`before` is the text up to the cursor).
-- Offered are Lua keywords and globals; the fields of a table and the
-- methods of an object through its metatable (`c:` lists every API method
-- of a client, loaded or not; `job:`, `c.workflow:`, `"s":`); the option
-- names of a call's table (`c:jobs{st` -> `status = `, from td.help); and
-- database and table names inside a string argument (`{db = "sa`,
-- `td.tables("`), from a listing fetched once and kept for a minute.
-- Objects may list names of their own with a metatable field
-- __complete = function(obj) -> array of names.
local M = {}

local KEYWORDS = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}

local function add_keys(set, t, methods_only)
  if type(t) ~= "table" then return end
  for k, v in next, t do
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not k:match("^__") then
      if not methods_only or type(v) == "function" then set[k] = true end
    end
  end
end

-- Names reachable from v: its own fields, its metatable's __complete, and
-- the methods of __index tables (or of the metatable itself when __index
-- is a function, the usual class layout).
local function names_of(v, methods_only)
  local set = {}
  local seen = {}
  local x = v
  for _ = 1, 6 do
    if type(x) == "table" and not seen[x] then
      seen[x] = true
      add_keys(set, x, methods_only and x ~= v)
      if x == v and methods_only then
        for k in pairs(set) do if type(rawget(x, k)) ~= "function" then set[k] = nil end end
      end
    end
    local mt = getmetatable(x)
    if type(mt) ~= "table" then break end
    local extra = rawget(mt, "__complete")
    if type(extra) == "function" then
      local ok, list = pcall(extra, v)
      if ok and type(list) == "table" then
        for _, k in ipairs(list) do if type(k) == "string" then set[k] = true end end
      end
    end
    local idx = rawget(mt, "__index")
    if type(idx) == "table" then
      x = idx
    else
      if type(idx) == "function" then add_keys(set, mt, true) end
      break
    end
  end
  -- strings: the string library through their metatable
  if type(v) == "string" then add_keys(set, string, true) end
  -- private helpers are not offered
  for k in pairs(set) do if k:sub(1, 1) == "_" and k ~= "_" then set[k] = nil end end
  return set
end
M.names_of = names_of

-- Evaluate a chain like `c.workflow` or `td.pretty` without calling
-- anything but __index.
local function resolve(chain)
  local v = _G
  for sep, name in ("." .. chain):gmatch("([%.:])([%a_][%w_]*)") do
    if sep == ":" then return nil end
    local ok, r = pcall(function() return v[name] end)
    if not ok or r == nil then return nil end
    v = r
  end
  return v
end
M.resolve = resolve

-- ---------------------------------------------------------------------------
-- option names of a call's table

local function help_module()
  local ok, h = pcall(require, "td.help")
  if ok and type(h) == "table" and type(h.lookup) == "function" then return h end
  return nil
end
M.help_module = help_module -- replaceable (tests)

--- The help name of an object's method: "client:jobs", "job:wait", ...
function M.method_name(obj, method)
  local mt = getmetatable(obj)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if obj == _G.td then return "td." .. method end
  if type(name) ~= "string" then return nil end
  return (name:match("([%w_]+)$")) .. ":" .. method
end

local function options_of(chain, sep, method)
  local h = M.help_module()
  if not h then return nil end
  local obj = resolve(chain)
  local entry
  if obj ~= nil then
    local ok, fn = pcall(function() return obj[method] end)
    if ok and fn ~= nil then
      local ok2, e = pcall(h.lookup, fn)
      if ok2 then entry = e end
    end
    if not entry then
      local name = M.method_name(obj, method)
      local ok2, e = pcall(h.lookup, name or (chain .. sep .. method))
      if ok2 then entry = e end
    end
  else
    local ok2, e = pcall(h.lookup, chain .. sep .. method)
    if ok2 then entry = e end
  end
  if type(entry) ~= "table" or type(entry.options) ~= "table" then return nil end
  local out = {}
  for _, o in ipairs(entry.options) do
    if type(o) == "table" and type(o.name) == "string" then out[#out + 1] = o.name end
  end
  return out
end

-- The call whose table constructor the cursor is in, if it is at a key:
-- `c:jobs{st` or `td.query("..", { d` -> "c", ":", "jobs", "st".
local function in_options(before)
  local depth, open = 0, nil
  local i = #before
  while i > 0 do
    local ch = before:sub(i, i)
    if ch == "}" then depth = depth + 1
    elseif ch == "{" then
      if depth == 0 then open = i break end
      depth = depth - 1
    end
    i = i - 1
  end
  if not open then return nil end
  local inside = before:sub(open + 1)
  local word = inside:match("^%s*([%a_][%w_]*)$") or inside:match("[,;]%s*([%a_][%w_]*)$")
    or (inside:match("^%s*$") and "") or (inside:match("[,;]%s*$") and "")
  if not word then return nil end
  local head = before:sub(1, open - 1)
  head = head:gsub("%(%s*$", ""):gsub("%([^()]*,%s*$", "")
  local chain, sep, method = head:match("([%a_][%w_%.]*)([%.:])([%a_][%w_]*)%s*$")
  if not chain then return nil end
  return chain, sep, method, word
end

-- ---------------------------------------------------------------------------
-- database and table names

local cache = { at = -math.huge }
M.cache_seconds = 60

local function listing()
  local now = os.time()
  if now - cache.at > M.cache_seconds then
    cache = { at = now, dbs = nil, tables = {} }
    local ok, dbs = pcall(function() return _G.td.databases() end)
    if ok and type(dbs) == "table" then
      cache.dbs = {}
      for _, d in ipairs(dbs) do if type(d.name) == "string" then cache.dbs[#cache.dbs + 1] = d.name end end
    end
  end
  return cache
end

local function db_names() return listing().dbs or {} end

local function table_names(db)
  local c = listing()
  if not c.tables[db] then
    c.tables[db] = {}
    local ok, ts = pcall(function() return _G.td.tables(db) end)
    if ok and type(ts) == "table" then
      for _, t in ipairs(ts) do if type(t.name) == "string" then c.tables[db][#c.tables[db] + 1] = t.name end end
    end
  end
  return c.tables[db]
end

--- Forget the cached database and table listing.
function M.forget() cache = { at = -math.huge } end

local DB_FUNCS = { tables = true, database = true, table = true, tail = true, delete_database = true,
  create_table = true, delete_table = true, query = false }

-- A string being typed where a database or table name goes.
local function in_name_string(before)
  local q, word = before:match("([\"'])([%w_%.%-]*)$")
  if not q then return nil end
  local head = before:sub(1, #before - #word - 1)
  if head:match("[%a_]*db%s*=%s*$") or head:match("database%s*=%s*$") then return "db", word, q end
  local fn = head:match("[%.:]([%a_][%w_]*)%s*%(%s*$")
  if fn and DB_FUNCS[fn] then return "db", word, q end
  local fn2, db = head:match("[%.:]([%a_][%w_]*)%s*%(%s*[\"']([%w_%-]+)[\"']%s*,%s*$")
  if fn2 and DB_FUNCS[fn2] then return "table", word, q, db end
  return nil
end

-- ---------------------------------------------------------------------------

local function sorted(set, prefix)
  local out = {}
  for k in pairs(set) do
    if k:sub(1, #prefix) == prefix then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

--- complete.candidates(before) -> words (sorted), the word being completed,
-- and the text to add after a single completion.
function M.candidates(before)
  -- database / table names in a string
  local what, word, q, db = in_name_string(before)
  if what then
    local list = what == "db" and db_names() or table_names(db)
    local set = {}
    for _, n in ipairs(list) do set[n] = true end
    return sorted(set, word), word, q
  end
  -- option names inside a call's table
  local chain, sep, method, oword = in_options(before)
  if chain then
    local opts = options_of(chain, sep, method)
    if opts then
      local set = {}
      for _, n in ipairs(opts) do set[n] = true end
      local words = sorted(set, oword)
      if #words > 0 then return words, oword, " = " end
    end
  end
  -- fields and methods
  local ch, s, w = before:match("([%a_][%w_]*[%w_%.:]*)([%.:])([%a_]?[%w_]*)$")
  if ch and not before:sub(1, #before - #ch - #s - #w):match("[%w_]$") then
    local v = resolve(ch)
    if v == nil then return {}, w, "" end
    return sorted(names_of(v, s == ":"), w), w, s == ":" and "(" or ""
  end
  local str = before:match("[\"'][^\"']*[\"']%)?%s*:([%a_]?[%w_]*)$")
  if str then return sorted(names_of("", true), str), str, "(" end
  -- globals and keywords
  local g = before:match("([%a_][%w_]*)$") or ""
  if before:sub(1, #before - #g):match("[%w_%.:]$") then return {}, g, "" end
  local set = names_of(_G)
  for _, k in ipairs(KEYWORDS) do set[k] = true end
  return sorted(set, g), g, ""
end

local function common_prefix(words)
  local p = words[1] or ""
  for i = 2, #words do
    local w = words[i]
    local n = 0
    while n < #p and n < #w and p:byte(n + 1) == w:byte(n + 1) do n = n + 1 end
    p = p:sub(1, n)
  end
  return p
end

--- Words in columns, as wide as the terminal.
function M.columns(words, width)
  local pretty = require "td.pretty"
  local w = 0
  for _, x in ipairs(words) do w = math.max(w, pretty.width(x)) end
  local colw = w + 2
  local ncol = math.max(1, ((width or 80) + 2) // colw)
  local nrow = (#words + ncol - 1) // ncol
  local lines = {}
  for r = 1, nrow do
    local parts = {}
    for c = 1, ncol do
      local x = words[(c - 1) * nrow + r]
      if x then parts[#parts + 1] = x .. (" "):rep(colw - pretty.width(x)) end
    end
    lines[#lines + 1] = table.concat(parts):gsub("%s+$", "")
  end
  return table.concat(lines, "\n") .. "\n"
end

--- complete.complete(before [, width]) -> text to insert at the cursor,
-- and a listing to print (nil when there is nothing to list): what Tab does.
function M.complete(before, width)
  local words, word, suffix = M.candidates(before)
  if #words == 0 then return "", nil end
  if #words == 1 then
    local rest = words[1]:sub(#word + 1)
    -- `(` after a method, ` = ` after an option name, the closing quote after a name
    return rest .. (suffix or ""), nil
  end
  local p = common_prefix(words)
  if #p > #word then return p:sub(#word + 1), nil end
  return "", M.columns(words, width)
end

return M
