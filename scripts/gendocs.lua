-- scripts/gendocs.lua: generate the documentation from its one source.
--   ./tdlua scripts/gendocs.lua            (make docs) writes the files below
--   ./tdlua scripts/gendocs.lua --check    fails naming each stale file or
--                                          undocumented public function
-- Sources: the operation declarations (td/ops.lua; lua/td/v3/*.lua and
-- lua/td/workflow/*.lua) and, for hand-written functions, the `---` doc
-- comment above their definition. The list of public functions is
-- td.help.walk(): td.*, client methods, client.workflow methods and the
-- methods of TD's objects. Written:
--   docs/reference.md      every public function: signature, arguments,
--                          options, returns, errors, example
--   lua/td/help_data.lua   the entries td.help shows
--   types/td.lua           LuaCATS annotations for lua-language-server
--   docs/tdlua.1           the man page (from `tdlua --help`)
-- and checks that docs/coverage-*.md name every declared operation in the
-- row of its endpoint.
-- Run with TDLUA_LUA_DIR=./lua so that the sources on disk are documented.
local help = require "td.help"
local ops = require "td.ops"

local CHECK = arg[1] == "--check"
local BIN = os.getenv("TDLUA_BIN") or "./tdlua"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local file_lines = {}
local function lines_of(path)
  if file_lines[path] == nil then
    local s = read(path)
    local t = {}
    if s then for l in (s .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end end
    file_lines[path] = t
  end
  return file_lines[path]
end

-- the `---` comment block above a Lua function's definition: text, file.
-- With `name` ("job:result_export"), a block a few lines higher that starts
-- with that name counts too (a constant may sit between the two).
local function doc_comment(fn, name)
  local info = debug.getinfo(fn, "S")
  if info.what ~= "Lua" or info.linedefined <= 0 then return nil end
  local rel = info.source:match("(td/.+%.lua)$")
  if not rel then return nil end
  local path = "lua/" .. rel
  local lines = lines_of(path)
  local i = info.linedefined - 1
  if name and lines[i] and not lines[i]:match("^%s*%-%-") then
    for j = i - 1, math.max(1, i - 12), -1 do
      if lines[j]:find("^%-%-%- " .. name:gsub("%p", "%%%0")) then
        local k = j
        while lines[k + 1] and lines[k + 1]:match("^%-%-") do k = k + 1 end
        i = k
        break
      end
    end
  end
  local block = {}
  while i >= 1 and lines[i]:match("^%s*%-%-") do
    table.insert(block, 1, lines[i])
    if lines[i]:match("^%s*%-%-%-") then break end
    i = i - 1
  end
  if #block == 0 or not block[1]:match("^%s*%-%-%-") then return nil, path end
  for j, l in ipairs(block) do block[j] = l:gsub("^%s*%-%-%-? ?", "") end
  return table.concat(block, "\n"), path
end

-- parameter names of a Lua function (without self)
local function params(fn)
  local out = {}
  local info = debug.getinfo(fn, "u")
  for i = 1, info.nparams do
    local n = debug.getlocal(fn, i)
    if n ~= "self" then out[#out + 1] = n end
  end
  if info.isvararg then out[#out + 1] = "..." end
  return out
end

local function first_sentence(s)
  s = s:gsub("\n", " ")
  return (s:match("^(.-%.)%s") or s:match("^(.-%.)$") or s)
end

local TYPE_NAMES = {
  name = "string", id = "string|integer", ids = "array of ids", wf_id = "string|integer",
  any = "any", array = "array",
}

-- an entry from a declaration (and the hand-written doc comment, if any)
local function from_decl(name, decl, comment)
  local args, options = {}, {}
  for _, a in ipairs(decl.args or {}) do
    args[#args + 1] = { name = a[1], type = TYPE_NAMES[a[2] or "any"] or a[2], doc = a[3] }
  end
  for _, o in ipairs(decl.opts or {}) do
    local d = o[3] or ""
    if o.default ~= nil then d = d .. (" (default %s)"):format(tostring(o.default)) end
    if o.required then d = d .. " (required)" end
    options[#options + 1] = { name = o[1], type = TYPE_NAMES[o[2] or "any"] or o[2], doc = d }
  end
  local prefix, mname = name:match("^(.-)[:.](.*)$")
  local sig = ops.signature(decl):gsub("^[^:]+:[%w_]+", prefix .. ":" .. mname)
  local doc = decl.doc
  if decl.method and decl.path then
    doc = doc .. (" (%s %s)"):format(decl.method, decl.path)
  elseif decl.path then
    doc = doc .. (" (GET %s)"):format(decl.path)
  end
  if comment and decl.hand then doc = comment end
  return {
    name = name, signature = sig, summary = decl.doc, doc = doc, args = args, options = options,
    returns = decl.returns, errors = decl.errors, example = decl.example, area = decl.area,
    http = decl.path and ((decl.method or "GET") .. " " .. decl.path) or nil,
  }
end

-- an entry from a doc comment
local function from_comment(name, fn, comment, file)
  local first = comment:match("^[^\n]*")
  local flatc = comment:gsub("\n", " ")
  local sig = flatc:match("^([%w_.:]+%b())") or flatc:match("^([%w_.:]+%s*%b{})")
  local rest = comment
  if sig then
    rest = flatc:sub(#sig + 1):gsub("^%s*", "")
  else
    sig = ("%s(%s)"):format(name, table.concat(params(fn), ", "))
  end
  local flat = rest:gsub("\n", " ")
  if not flat:match("[%.%?!]$") then flat = flat .. "." end
  local sentences = {}
  for sentence in flat:gmatch("(.-[%.%?!])%s+") do sentences[#sentences + 1] = sentence end
  local last = flat:match("([^%.%?!]*[%.%?!])$")
  if #sentences == 0 or sentences[#sentences] ~= last then sentences[#sentences + 1] = flat:match("^.*[%.%?!]%s+(.-)$") or flat end
  local returns
  local r = flat:match("^%->%s*(.-)$")
  if r then
    returns = (r:match("^(.-)[%.;]%s") or r):gsub("%s+%- .*$", ""):gsub("%s*%(.*$", ""):gsub("[:,%.]%s*$", "")
  end
  local options = {}
  local braces = sig:match("%b{}")
  if braces then
    for o in braces:gmatch("([%a_][%w_]*)%s*=") do options[#options + 1] = { name = o, type = "", doc = "" } end
  end
  local example, errs = {}, {}
  for l in (comment .. "\n"):gmatch("(.-)\n") do
    if l:match("^  %S") then example[#example + 1] = l:sub(3) end
  end
  for _, sentence in ipairs(sentences) do
    if sentence:match("[Rr]aise") then errs[#errs + 1] = (sentence:gsub("^%->%s*", ""):gsub("^%- ", "")) end
  end
  local summary = (sentences[1] or first):gsub("^%->%s*", "returns "):gsub("^%- ", "")
  return {
    name = name, signature = sig:gsub("^[%w_]+:", name:match("^(.-[:.])")), summary = summary,
    doc = comment, args = {}, options = options, returns = returns,
    errors = #errs > 0 and table.concat(errs, " ") or nil,
    example = #example > 0 and table.concat(example, "\n") or nil, file = file,
  }
end

local SHORTCUT_SOURCES = { spawn = "td.async", wait = "td.async", sleep = "td.async", map = "td.async", every = "td.async" }

local missing = {}
local entries, order = {}, {}

for _, w in ipairs(help.walk()) do
  local name, fn = w.name, w.fn
  local prefix, mname = name:match("^(.-)[:.](.*)$")
  local decl = ops.lookup(name)
  local comment, file = doc_comment(fn, name)
  -- a forwarder to a function of another module ({module, function} upvalue)
  local target
  if not comment then
    for i = 1, math.huge do
      local uname, uv = debug.getupvalue(fn, i)
      if not uname then break end
      if uname ~= "_ENV" and type(uv) == "table" and type(rawget(uv, 1)) == "string" and type(rawget(uv, 2)) == "string" and uv[1]:match("^td%.") then
        local okm, m = pcall(require, uv[1])
        if okm and type(m) == "table" and type(m[uv[2]]) == "function" then target = m[uv[2]] end
      end
    end
  end
  local e
  if target then
    local c = doc_comment(target)
    if c then e = from_comment(name, target, c) end
  elseif decl then
    e = from_decl(name, decl, comment)
  elseif prefix == "td" and SHORTCUT_SOURCES[mname] then
    local src = require(SHORTCUT_SOURCES[mname])[mname]
    local c = doc_comment(src)
    if c then e = from_comment(name, src, c) end
  elseif prefix == "td" and not comment then
    -- a shortcut to the client method on the default client
    local cdecl = ops.lookup("client:" .. mname)
    local cfn = require("td.client").all_methods()[mname]
    if cdecl then
      e = from_decl(name, cdecl)
    elseif cfn then
      local c = doc_comment(cfn)
      if c then e = from_comment(name, cfn, c) end
    end
    if e then
      e.signature = e.signature:gsub("^client:", "td.")
      e.doc = e.doc .. "\n(td." .. mname .. " calls client:" .. mname .. " on td.default_client().)"
    end
  elseif comment then
    e = from_comment(name, fn, comment, file)
  end
  if e then
    e.signature = e.signature:gsub("^td:", "td.")
    entries[name] = e
    order[#order + 1] = name
  else
    missing[#missing + 1] = name .. (file and (" (" .. file .. ")") or "")
  end
end

-- topics: receivers and API areas
local TOPICS = {
  td = "the module: td.client, shortcuts, concurrency, td.help",
  client = "a client's core API (v3) methods",
  wf = "client.workflow: the Treasure Workflow API",
  job = "the Job object (query results, waiting, downloads)",
  attempt = "the workflow Attempt object (waiting, retry, kill, logs)",
  project = "the workflow Project object",
  session = "the workflow Session object",
  schedule = "the workflow Schedule object",
  workflow = "the workflow definition object",
}
local topics = {}
for t, summary in pairs(TOPICS) do topics[t] = { summary = summary, functions = {} } end
-- the objects' plural names are topics too (help "attempts")
for _, t in ipairs { "attempt", "project", "session", "workflow" } do topics[t .. "s"] = topics[t] end
for _, name in ipairs(order) do
  local prefix = name:match("^(.-)[:.]")
  if topics[prefix] then table.insert(topics[prefix].functions, name) end
  local area = entries[name].area
  if area then
    local short = area:match("%.([%w_]+)$")
    topics[short] = topics[short] or { summary = "the " .. short:gsub("_", " ") .. " operations (" .. area .. ")", functions = {} }
    table.insert(topics[short].functions, name)
  end
end

-- ---------------------------------------------------------------------------
-- writers

local function serialize(v, indent)
  indent = indent or ""
  if type(v) == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  if #keys == 0 then return "{}" end
  local inner = indent .. "  "
  local parts = {}
  for _, k in ipairs(keys) do
    local key
    if math.type(k) == "integer" then key = ""
    elseif type(k) == "string" and k:match("^[%a_][%w_]*$") then key = k .. " = "
    else key = "[" .. serialize(k) .. "] = " end
    parts[#parts + 1] = inner .. key .. serialize(v[k], inner)
  end
  return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
end

local function help_data()
  local clean = {}
  for name, e in pairs(entries) do
    local c = {}
    for k, v in pairs(e) do
      if k ~= "file" and not (type(v) == "table" and next(v) == nil) then c[k] = v end
    end
    clean[name] = c
  end
  return "-- generated by scripts/gendocs.lua (make docs) -- do not edit\n"
    .. "-- the entries td.help shows (see td/help.lua)\n"
    .. "return " .. serialize { entries = clean, order = order, topics = topics } .. "\n"
end

local SECTIONS = {
  { "td", "The td module" }, { "client", "Client: the core API (v3)" },
  { "wf", "client.workflow: Treasure Workflow" }, { "job", "Job" }, { "attempt", "Attempt" },
  { "project", "Project" }, { "session", "Session" }, { "schedule", "Schedule" }, { "workflow", "Workflow (definition)" },
}

local function md_escape(s) return (tostring(s):gsub("|", "\\|"):gsub("\n", " ")) end

local function reference()
  local out = {
    "# tdlua reference",
    "",
    "Generated by `make docs` (scripts/gendocs.lua) from the operation",
    "declarations and the doc comments of the hand-written functions; do not",
    "edit. The same source gives `td.help(x)`, the LuaCATS annotations",
    "(types/td.lua) and the man page (docs/tdlua.1). `c` is a client",
    "(`td.client()`), `wf` is `c.workflow`.",
    "",
  }
  for _, s in ipairs(SECTIONS) do
    out[#out + 1] = "- [" .. s[2] .. "](#" .. s[2]:lower():gsub("[^%w%s%-]", ""):gsub("%s", "-") .. ")"
  end
  for _, s in ipairs(SECTIONS) do
    out[#out + 1] = ""
    out[#out + 1] = "## " .. s[2]
    for _, name in ipairs(topics[s[1]].functions) do
      local e = entries[name]
      out[#out + 1] = ""
      out[#out + 1] = "### `" .. e.signature .. "`"
      out[#out + 1] = ""
      out[#out + 1] = e.doc
      if #e.args > 0 then
        out[#out + 1] = ""
        out[#out + 1] = "| argument | type | |"
        out[#out + 1] = "|---|---|---|"
        for _, a in ipairs(e.args) do
          out[#out + 1] = ("| `%s` | %s | %s |"):format(a.name, md_escape(a.type or ""), md_escape(a.doc or ""))
        end
      end
      if #e.options > 0 then
        out[#out + 1] = ""
        out[#out + 1] = "| option | type | |"
        out[#out + 1] = "|---|---|---|"
        for _, o in ipairs(e.options) do
          out[#out + 1] = ("| `%s` | %s | %s |"):format(o.name, md_escape(o.type or ""), md_escape(o.doc or ""))
        end
      end
      if e.returns then out[#out + 1] = "" out[#out + 1] = "Returns: " .. e.returns end
      if e.errors then out[#out + 1] = "" out[#out + 1] = "Errors: " .. e.errors end
      if e.example then
        out[#out + 1] = ""
        out[#out + 1] = "```lua"
        out[#out + 1] = e.example
        out[#out + 1] = "```"
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local CLASS = {
  td = "td", client = "td.Client", wf = "td.WorkflowClient", job = "td.Job", attempt = "td.Attempt",
  project = "td.Project", session = "td.Session", schedule = "td.Schedule", workflow = "td.WorkflowDefinition",
}
local LUATYPE = {
  string = "string", ["string|integer"] = "string|integer", integer = "integer", number = "number",
  boolean = "boolean", table = "table", array = "table", ["array of ids"] = "(string|integer)[]", any = "any",
}

-- the annotation type of a "returns" text, when it names one of TD's objects
local function return_type(r)
  local l = r:lower()
  if l:match("^iterator") then return "fun(): any" end
  if l:match("^array of jobs") then return "td.Job[]" end
  if l:match("^job") or l:match("^the job") then return "td.Job" end
  if l:match("^attempt") or l:match("^the attempt") or l:match("^the new attempt") then return "td.Attempt" end
  if l:match("^project") or l:match("^the project") then return "td.Project" end
  if l:match("^session") then return "td.Session" end
  if l:match("^schedule") then return "td.Schedule" end
  if l:match("^workflow") then return "td.WorkflowDefinition" end
  if l:match("^a new client") or l:match("^client,") then return "td.Client" end
  if l:match("^array") then return "table" end
  return "any"
end

local function luacats()
  local out = {
    "---@meta td",
    "-- generated by scripts/gendocs.lua (make docs) -- do not edit",
    "-- LuaCATS annotations of the td module for lua-language-server: add this",
    "-- directory to workspace.library (or Lua.workspace.library in settings).",
    "",
  }
  for _, s in ipairs(SECTIONS) do
    local cls = CLASS[s[1]]
    local var = cls:gsub("^td%.", ""):gsub("^td$", "td")
    out[#out + 1] = "---@class " .. cls
    if s[1] == "client" then out[#out + 1] = "---@field workflow td.WorkflowClient" end
    out[#out + 1] = ("local %s = {}"):format(var)
    out[#out + 1] = ""
    for _, name in ipairs(topics[s[1]].functions) do
      local e = entries[name]
      local mname = name:match("[:.]([%w_]+)$")
      out[#out + 1] = "--- " .. (e.summary or ""):gsub("\n", " ")
      local pnames = {}
      local decl = ops.lookup(name) or (s[1] == "td" and ops.lookup("client:" .. mname))
      if decl then
        for _, a in ipairs(decl.args or {}) do
          local ty = LUATYPE[TYPE_NAMES[a[2] or "any"] or a[2]] or "any"
          local opt = (a.optional or (a[2] or ""):find("?", 1, true)) and "?" or ""
          out[#out + 1] = ("---@param %s%s %s %s"):format(a[1], opt, ty, a[3] or "")
          pnames[#pnames + 1] = a[1]
        end
        if decl.opts then
          local fields = {}
          for _, o in ipairs(decl.opts) do
            fields[#fields + 1] = ("%s?: %s"):format(o[1], LUATYPE[TYPE_NAMES[o[2] or "any"] or o[2]] or "any")
          end
          out[#out + 1] = ("---@param opts? {%s}"):format(table.concat(fields, ", "))
          pnames[#pnames + 1] = "opts"
        end
      else
        local fn
        for _, w in ipairs(help.walk()) do if w.name == name then fn = w.fn end end
        for _, p in ipairs(params(fn)) do
          if p ~= "..." then out[#out + 1] = ("---@param %s any"):format(p) end
          pnames[#pnames + 1] = p
        end
      end
      if e.returns then out[#out + 1] = ("---@return %s # %s"):format(return_type(e.returns), (e.returns:gsub("\n", " "))) end
      local sep = s[1] == "td" and "." or ":"
      out[#out + 1] = ("function %s%s%s(%s) end"):format(var, sep, mname, table.concat(pnames, ", "))
      out[#out + 1] = ""
    end
  end
  out[#out + 1] = "return td"
  return table.concat(out, "\n") .. "\n"
end

local function roff(s) return (s:gsub("\\", "\\e"):gsub("^%.", "\\&."):gsub("%-", "\\-")) end

local function manpage()
  local p = io.popen(BIN .. " --help 2>&1")
  local text = p and p:read("a") or ""
  if p then p:close() end
  local out = {
    '.\\" generated by scripts/gendocs.lua (make docs) from `tdlua --help` -- do not edit',
    ".TH TDLUA 1 \"\" \"tdlua " .. require("td.version") .. "\" \"User Commands\"",
    ".SH NAME",
    "tdlua \\- Lua 5.4 with the td module for the Treasure Data APIs",
    ".SH SYNOPSIS",
    ".B tdlua",
    "[\\fIoptions\\fR] [\\fIscript\\fR [\\fIargs\\fR]]",
    ".SH DESCRIPTION",
    "tdlua runs a Lua script, a \\fB\\-e\\fR chunk, standard input or an interactive",
    "REPL with the \\fBtd\\fR module loaded as the global \\fBtd\\fR: the Treasure Data",
    "core API (v3) and Treasure Workflow, with retries, waits, result streaming",
    "and downloads. Inside the REPL, \\fBtd.help(x)\\fR describes any function.",
    ".SH OPTIONS",
  }
  local env = {}
  local in_env = false
  for line in text:gmatch("[^\n]+") do
    local flag, what = line:match("^  (%-%S.-)%s%s+(%S.*)$")
    if line:match("^Environment:") then in_env = true end
    if in_env then
      env[#env + 1] = line:gsub("^Environment:%s*", ""):gsub("^%s+", "")
    elseif flag then
      out[#out + 1] = ".TP"
      out[#out + 1] = "\\fB" .. roff(flag) .. "\\fR"
      out[#out + 1] = roff(what)
    end
  end
  out[#out + 1] = ".SH ENVIRONMENT"
  out[#out + 1] = roff(table.concat(env, " "))
  out[#out + 1] = ".SH EXIT STATUS"
  out[#out + 1] = "0 when the script ends normally; non\\-zero when it raises an error it does not handle."
  out[#out + 1] = ".SH SEE ALSO"
  out[#out + 1] = "The reference (docs/reference.md), README.md, and \\fBtd.help()\\fR in the REPL."
  return table.concat(out, "\n") .. "\n"
end

local OUTPUTS = {
  { "docs/reference.md", reference },
  { "lua/td/help_data.lua", help_data },
  { "types/td.lua", luacats },
  { "docs/tdlua.1", manpage },
}

-- ---------------------------------------------------------------------------
-- the coverage tables (docs/coverage-*.md, checked against TD's OpenAPI
-- descriptions by tests/test_coverage.lua and test_workflow_coverage.lua)
-- must name every declared operation in the row of its endpoint

local COVERAGE = { { "docs/coverage-v3.md", "/v3", "c" }, { "docs/coverage-workflow.md", "", "wf" } }

local function norm(method, path) return method .. " " .. path:gsub("{[^}]*}", "{}") end

local function coverage_problems()
  local problems = {}
  local rows = {} -- "GET /v3/database/show/{}" -> cell text
  for _, cov in ipairs(COVERAGE) do
    local text = read(cov[1]) or ""
    for line in text:gmatch("[^\n]+") do
      local method, path, rest = line:match("^|[^|]*|%s*`(%u+) (/[^`%s]*)`%s*|(.*)$")
      if not method then method, path, rest = line:match("^|%s*`(%u+) (/[^`%s]*)`%s*|(.*)$") end
      if method then
        local key = norm(method, (path:sub(1, #cov[2]) == cov[2] and "" or cov[2]) .. path)
        rows[key] = (rows[key] or "") .. rest
      end
    end
  end
  for _, d in ipairs(ops.declarations()) do
    if d.path and d.method ~= false then
      local key = norm(d.method or "GET", d.path)
      local cell = rows[key]
      local who = (d.prefix == "client" and "c:" or d.prefix .. ":") .. d.name
      if not cell then
        problems[#problems + 1] = ("%s: %s has no row in the coverage tables"):format(d.key, key)
      elseif not cell:find("`" .. who, 1, true) then
        problems[#problems + 1] = ("%s: the row of %s does not name `%s`"):format(d.key, key, who)
      end
    end
  end
  table.sort(problems)
  return problems
end

local failed = false
local cov = coverage_problems()
if #cov > 0 then
  io.stderr:write("coverage tables out of step with the declarations:\n  ", table.concat(cov, "\n  "), "\n")
  failed = true
end
if #missing > 0 then
  table.sort(missing)
  io.stderr:write("public functions without a doc comment or declaration:\n  ", table.concat(missing, "\n  "), "\n")
  failed = true
end
for _, o in ipairs(OUTPUTS) do
  local text = o[2]()
  if CHECK then
    if read(o[1]) ~= text then
      io.stderr:write(o[1], " is stale: run `make docs`\n")
      failed = true
    end
  else
    os.execute("mkdir -p " .. o[1]:match("^(.*)/"))
    local f = assert(io.open(o[1], "wb"))
    f:write(text)
    f:close()
    print("wrote " .. o[1])
  end
end
if failed then os.exit(1) end
