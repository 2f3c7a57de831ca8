--- td.repl_history: the REPL's history file.
-- Every line is masked by td.redact, then kept in memory (arrow keys) and
-- appended to the file at once, so no way of leaving the REPL - Ctrl-D,
-- os.exit, a signal, a crash - loses it. The file is libedit's format
-- (a "_HiStOrY_V2_" line, then one entry a line with space, backslash and
-- control characters as \ooo escapes) and has mode 0600. It is
-- $TDLUA_HISTORY, else ~/.tdlua_history; TDLUA_HISTORY="" keeps none.
local redact = require "td.redact"

local M = {}

local HEADER = "_HiStOrY_V2_"
M.MAX = 1000 -- entries kept (the file is trimmed to this when it grows to twice as many)

--- The history file's path, or nil when history is off.
function M.path()
  local h = os.getenv("TDLUA_HISTORY")
  if h then return h ~= "" and h or nil end
  local home = os.getenv("HOME")
  return home and home ~= "" and (home .. "/.tdlua_history") or nil
end

--- One entry as a line of the file.
function M.encode(line)
  return (line:gsub("[%c \\]", function(c)
    if c == "\\" then return "\\\\" end
    return ("\\%03o"):format(c:byte())
  end))
end

--- A line of the file back to the entry.
function M.decode(s)
  return (s:gsub("\\(\\?)([0-7]?[0-7]?[0-7]?)", function(bs, digits)
    if bs == "\\" then return "\\" .. digits end
    if #digits == 3 then return string.char(tonumber(digits, 8) % 256) end
    return "\\" .. digits
  end))
end

local History = {}
History.__index = History

--- history.open(term [, path]) -> a history: loads the file's entries
-- into the terminal's history. term is the REPL's terminal (add_history,
-- write_private); path defaults to history.path().
function M.open(term, path)
  local self = setmetatable({ term = term, path = path or M.path() }, History)
  if not self.path then return self end
  local entries = {}
  local f = io.open(self.path, "rb")
  if f then
    for line in f:lines() do
      if line ~= HEADER and line ~= "" then entries[#entries + 1] = M.decode(line) end
    end
    f:close()
  end
  local first = math.max(1, #entries - M.MAX + 1)
  for i = first, #entries do term.add_history(entries[i]) end
  self.kept, self.gen = { table.unpack(entries, first) }, redact.generation()
  if not f or #entries >= 2 * M.MAX then -- create it (0600), or trim it
    local keep = { HEADER }
    for i = first, #entries do keep[#keep + 1] = M.encode(entries[i]) end
    local ok, err = term.write_private(self.path, table.concat(keep, "\n") .. "\n", false)
    if not ok then
      io.stderr:write("history: ", tostring(err), " (history is not saved)\n")
      self.path = nil
    end
  end
  return self
end

--- h:refresh() - when a secret became known since the entries were
-- written (a line introduced a key that a later line handed to a client),
-- mask every kept entry again and rewrite the file (mode 0600).
function History:refresh()
  if not self.path or not self.kept or redact.generation() == self.gen then return end
  self.gen = redact.generation()
  local changed = false
  for i, e in ipairs(self.kept) do
    local m = redact.history(e)
    if m ~= e then self.kept[i], changed = m, true end
  end
  if not changed then return end
  local out = { HEADER }
  for _, e in ipairs(self.kept) do out[#out + 1] = M.encode(e) end
  local ok, err = self.term.write_private(self.path, table.concat(out, "\n") .. "\n", false)
  if not ok then
    io.stderr:write("history: ", tostring(err), " (history is not saved)\n")
    self.path = nil
  end
end

--- h:add(text) - remember one entry (a line or a multi-line chunk), masked.
function History:add(text)
  if not text:find("%S") then return end
  self:refresh()
  local masked = redact.history(text) -- also keys a line introduces before the process knows them
  if self.kept then self.kept[#self.kept + 1] = masked end
  self.term.add_history(masked)
  if self.path then
    local ok, err = self.term.write_private(self.path, M.encode(masked) .. "\n", true)
    if not ok then
      io.stderr:write("history: ", tostring(err), " (history is not saved)\n")
      self.path = nil
    end
  end
end

return M
