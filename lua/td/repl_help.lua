--- td.repl_help: `help(x)` and the `?x` shortcut of the REPL.
-- The text comes from td.help (the same declarations the reference docs
-- are made from): help() lists the topics, help(td.query), help(job.wait),
-- help "attempts" and help "client:jobs" print a function's signature,
-- options, errors and an example. For an object, help(job) lists its
-- methods. Without td.help, it says so and still lists methods.
local complete = require "td.repl_complete"

local M = {}

local function out(s) io.stdout:write(s, s:sub(-1) == "\n" and "" or "\n") end

local function methods_text(v)
  local set = complete.names_of(v, true)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  if #list == 0 then return nil end
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name") or type(v)
  return ("%s methods:\n%s"):format(name, complete.columns(list, 78))
end

local function kind_of(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and name:match("([%w_]+)$") or nil
end

--- help.text(x) -> the help text for x (a value, a name such as
-- "td.query" or "job:wait", or a topic), or nil and a message.
function M.text(x)
  local h = complete.help_module()
  if x == nil then
    local lines = {
      "help(x) explains a function, method or topic; ?x does the same.",
      "  help(td.query)   help(job.wait)   help \"client:jobs\"   help(c)   ?td.jobs",
      "Tab completes names, methods and options; Ctrl-C cancels; Ctrl-D quits.",
    }
    if h and type(h.topics) == "function" then
      local ok, topics = pcall(h.topics)
      if ok and type(topics) == "table" and #topics > 0 then
        lines[#lines + 1] = "Topics:"
        lines[#lines + 1] = (complete.columns(topics, 78):gsub("\n$", ""))
      end
    else
      lines[#lines + 1] = "(the reference help, td.help, is not available in this build)"
    end
    return table.concat(lines, "\n")
  end
  if h then
    local ok, entry = pcall(h.lookup, x)
    if ok and entry ~= nil then
      local ok2, text = pcall(h.text, x)
      if ok2 and type(text) == "string" then return text end
    end
    -- an object: its kind is a topic ("job", "attempt", ...)
    local kind = type(x) == "table" and kind_of(x)
    if kind then
      local ok3, e = pcall(h.lookup, kind)
      if ok3 and e ~= nil then
        local ok4, text = pcall(h.text, kind)
        if ok4 and type(text) == "string" then
          local m = methods_text(x)
          return text .. (m and ("\n" .. m) or "")
        end
      end
    end
  end
  if type(x) == "table" then
    local m = methods_text(x)
    if m then return m end
  end
  if type(x) == "function" then
    local info = debug.getinfo(x, "S")
    local where = info and info.short_src ~= "[C]" and (" (defined in %s:%d)"):format(info.short_src, info.linedefined) or ""
    return nil, "no help for this function" .. where .. (h and "" or "; td.help is not available")
  end
  return nil, ("no help for %s; help() lists the topics"):format(type(x) == "string" and ("%q"):format(x) or type(x))
end

--- help(x) - print the help for x (see help.text).
function M.help(x)
  local text, err = M.text(x)
  out(text or err)
end

--- The `?x` shortcut: x is evaluated when it can be (`?td.query`,
-- `?job:wait` as job.wait); a name that is not a value is looked up as it
-- is written (`?attempts`, `?client:jobs`).
function M.shortcut(s)
  s = s:match("^%s*(.-)%s*$")
  if s == "" then return M.help() end
  local v
  local expr = s:gsub("^([%a_][%w_%.]*):([%a_][%w_]*)$", "%1.%2")
  local f = load("return " .. expr, "=help", "t")
  if f then
    local ok, r = pcall(f)
    if ok then v = r end
  end
  if v ~= nil then
    local text = M.text(v)
    if text then return out(text) end
    -- a method of an object: its help name (job:wait for job.wait)
    local obj, method = s:match("^([%a_][%w_%.]*)[%.:]([%a_][%w_]*)$")
    if obj then
      local o = load("return " .. obj, "=help", "t")
      local ok, ov = pcall(o)
      local name = ok and ov ~= nil and complete.method_name(ov, method)
      if name then
        local t2 = M.text(name)
        if t2 then return out(t2) end
      end
    end
  end
  return M.help(v ~= nil and v or s)
end

return M
