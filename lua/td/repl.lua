--- td.repl: the interactive loop of tdlua (`tdlua` on a terminal, `tdlua -i`).
-- A line is tried as an expression first, then as a statement; an
-- unfinished statement continues on the next line (">> "). `=expr` is an
-- expression too, and `?x` is help(x). Results are printed by
-- `repl.printer` (replaceable: td.repl.printer = function(...) ... end)
-- and the first one, unless nil, is kept in the global `_`. Ctrl-C at the prompt drops
-- the line; during a request or wait it stops the wait and says what keeps
-- running in TD; Ctrl-D quits. The terminal side (line editing, signals)
-- is C (src/repl.c); this module decides everything else.
local pretty = require "td.pretty"
local errors = require "td.errors"
local redact = require "td.redact"
local history = require "td.repl_history"
local complete = require "td.repl_complete"
local help = require "td.repl_help"

local M = {}

--- The printer: called with a line's results (at least one value).
function M.printer(...)
  pretty.print_values(...)
end

--- Whether colours are on: a terminal, TERM not dumb, NO_COLOR not set.
function M.colors(tty)
  if not tty then return false end
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  local term = os.getenv("TERM")
  return term ~= nil and term ~= "" and term ~= "dumb"
end

--- The banner: version, endpoint and region, whether a key is configured
-- (never the key), and the help hint. Reads the configuration only (no
-- network).
function M.banner()
  local host = package.loaded["td.host"] or {}
  local lines = { ("tdlua %s (%s)"):format(host.version or require("td.version"), _VERSION) }
  local ok, cfg = pcall(function()
    local config = require "td.config"
    return config.resolve {}
  end)
  if ok and type(cfg) == "table" then
    local key
    if cfg.apikey then
      local src = type(cfg.sources) == "table" and cfg.sources.apikey
      key = "API key configured" .. (src and (" (" .. tostring(src) .. ")") or "")
    else
      key = "no API key (set TD_API_KEY or ~/.td/td.conf)"
    end
    lines[#lines + 1] = ("endpoint %s  region %s  %s"):format(tostring(cfg.endpoint),
      tostring(cfg.region or "?"), key)
  else
    lines[#lines + 1] = "configuration: " .. redact.text(tostring(cfg))
  end
  lines[#lines + 1] = "help() for help, ?td.query explains a function, Tab completes, Ctrl-D quits"
  return table.concat(lines, "\n")
end

local function is_interrupt(err)
  return err == "interrupted" or (errors.is(err) and err.kind == "interrupted")
end

--- The one line printed for an error at the prompt.
function M.describe_error(err)
  if is_interrupt(err) then
    if type(err) == "table" and err.job_id then
      return ("interrupted; job %s is still running in TD (job:kill() stops it)"):format(err.job_id)
    end
    if type(err) == "table" and err.attempt_id then
      return ("interrupted; attempt %s is still running in TD (attempt:kill() stops it)"):format(err.attempt_id)
    end
    return "interrupted"
  end
  if type(err) == "table" and getmetatable(err) and getmetatable(err).__name == "td.error" then
    return pretty.render(err)
  end
  local mt = getmetatable(err)
  if mt and mt.__tostring then return redact.text(tostring(err)) end
  if type(err) == "string" or type(err) == "number" then return redact.text(tostring(err)) end
  return ("(error object is a %s value)"):format(type(err))
end

local function report(err, traceback, o)
  local host = package.loaded["td.host"] or {}
  local msg = M.describe_error(err)
  if not is_interrupt(err) and not msg:find("\27", 1, true) then msg = pretty.paint("error", msg, o) end
  io.stdout:flush()
  io.stderr:write(msg, "\n")
  if host.verbose and traceback and not is_interrupt(err) then
    io.stderr:write(redact.text(traceback:match("\nstack traceback:.*") or ""), "\n")
  end
  io.stderr:flush()
end

-- Read one chunk: a function to run, or nil and why ("eof", "interrupted",
-- "help" with the text after ?, "syntax" with the message).
local function read_chunk(term, hist)
  local line, why = term.read("> ")
  if not line then return nil, why end
  if line:match("^%s*%?") then
    hist:add(line)
    return nil, "help", line:match("^%s*%?(.*)$")
  end
  if line:sub(1, 1) == "=" then line = "return " .. line:sub(2) end
  local fn = load("return " .. line .. ";", "=stdin", "t")
  if fn then
    hist:add(line)
    return fn
  end
  local src = line
  while true do
    local f, err = load(src, "=stdin", "t")
    if f then
      hist:add(src)
      return f
    end
    if not err:find("<eof>$") then
      hist:add(src)
      return nil, "syntax", err
    end
    local more, why2 = term.read(">> ")
    if not more then return nil, why2 end
    src = src .. "\n" .. more
  end
end

local function show(term, n, ...)
  if n == 0 then return end
  if (...) ~= nil then rawset(_G, "_", (...)) end
  local r = table.pack(term.call(M.printer, ...))
  if not r[1] then
    report(r[2], r[3])
    io.stdout:write(tostring((...)), "\n")
  end
end

--- repl.run(term, ...) -> exit status. term: the terminal primitives
-- (src/repl.c); ... : values to show first (a script's results under -i).
function M.run(term, ...)
  pretty.options.width = term.tty and term.columns or nil
  pretty.options.color = M.colors(term.tty)
  rawset(_G, "help", help.help)
  io.stdout:write(M.banner(), "\n")
  local hist = history.open(term)
  if term.tty then
    term.set_completer(function(before)
      return complete.complete(before, term.columns and term.columns() or 80)
    end)
  end
  show(term, select("#", ...), ...)
  while true do
    io.stdout:flush()
    local fn, why, extra = read_chunk(term, hist)
    if fn then
      local r = table.pack(term.call(fn))
      hist:refresh() -- the chunk may have made a key known: mask it in what is saved
      if r[1] then show(term, r.n - 1, table.unpack(r, 2, r.n))
      else report(r[2], r[3]) end
    elseif why == "eof" then
      break
    elseif why == "help" then
      local ok, err, tb = term.call(help.shortcut, extra)
      if not ok then report(err, tb) end
    elseif why == "syntax" then
      report(extra)
    end
    -- "interrupted": the line is dropped, a new prompt follows
  end
  if term.tty then io.stdout:write("\n") end
  io.stdout:flush()
  return 0
end

return M
