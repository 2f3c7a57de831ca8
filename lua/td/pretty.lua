--- td.pretty: printing for people (the REPL, examples).
--   pretty.table(columns, rows [, opts])  an aligned text table
--   pretty.format(v [, depth])            any value as text (depth, item limits, cycles)
--   pretty.render(v [, opts])             what the REPL shows: objects as records,
--                                         lists of records and pages as tables
--   pretty.show(v, ...)                   print render(v) for each value
--   pretty.width(s)                       display width (CJK and emoji are 2 columns)
-- pretty.options holds the defaults: width (a number, or a function giving
-- the terminal's width; nil = no limit), color (ANSI colours), max_depth,
-- max_items, max_cell (widest cell before `…`).
local M = {}

local core = require "td.core"
local null = core.null
local concat = table.concat
local utf8_len, utf8_codepoint, charpattern = utf8.len, utf8.codepoint, utf8.charpattern

M.options = { width = nil, color = false, max_depth = 4, max_items = 50, max_cell = 60 }

-- opts over pretty.options (opts may itself be such a view)
local function options(opts)
  if opts == nil then return M.options end
  return setmetatable({}, { __index = function(_, k)
    local v = opts[k]
    if v == nil then v = M.options[k] end
    return v
  end })
end

-- ---------------------------------------------------------------------------
-- display width

-- code point ranges two columns wide (East Asian Wide/Fullwidth, emoji)
local WIDE = {
  0x1100, 0x115F, 0x231A, 0x231B, 0x2329, 0x232A, 0x23E9, 0x23EC, 0x23F0, 0x23F0, 0x23F3, 0x23F3,
  0x25FD, 0x25FE, 0x2614, 0x2615, 0x2648, 0x2653, 0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1,
  0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE, 0x26D4, 0x26D4, 0x26EA, 0x26EA,
  0x26F2, 0x26F3, 0x26F5, 0x26F5, 0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705, 0x270A, 0x270B,
  0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
  0x27B0, 0x27B0, 0x27BF, 0x27BF, 0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x2E80, 0x303E,
  0x3041, 0x33FF, 0x3400, 0x4DBF, 0x4E00, 0x9FFF, 0xA000, 0xA4CF, 0xA960, 0xA97F, 0xAC00, 0xD7A3,
  0xF900, 0xFAFF, 0xFE10, 0xFE19, 0xFE30, 0xFE6F, 0xFF00, 0xFF60, 0xFFE0, 0xFFE6, 0x16FE0, 0x16FE4,
  0x17000, 0x18CFF, 0x1B000, 0x1B2FF, 0x1F004, 0x1F004, 0x1F0CF, 0x1F0CF, 0x1F18E, 0x1F18E,
  0x1F191, 0x1F19A, 0x1F200, 0x1F202, 0x1F210, 0x1F23B, 0x1F240, 0x1F248, 0x1F250, 0x1F251,
  0x1F260, 0x1F265, 0x1F300, 0x1F320, 0x1F32D, 0x1F335, 0x1F337, 0x1F37C, 0x1F37E, 0x1F393,
  0x1F3A0, 0x1F3CA, 0x1F3CF, 0x1F3D3, 0x1F3E0, 0x1F3F0, 0x1F3F4, 0x1F3F4, 0x1F3F8, 0x1F3FA,
  0x1F400, 0x1F43E, 0x1F440, 0x1F440, 0x1F442, 0x1F4FC, 0x1F4FF, 0x1F53D, 0x1F54B, 0x1F54E,
  0x1F550, 0x1F567, 0x1F57A, 0x1F57A, 0x1F595, 0x1F596, 0x1F5A4, 0x1F5A4, 0x1F5FB, 0x1F64F,
  0x1F680, 0x1F6C5, 0x1F6CC, 0x1F6CC, 0x1F6D0, 0x1F6D2, 0x1F6D5, 0x1F6D7, 0x1F6EB, 0x1F6EC,
  0x1F6F4, 0x1F6FC, 0x1F7E0, 0x1F7EB, 0x1F90C, 0x1F93A, 0x1F93C, 0x1F945, 0x1F947, 0x1F9FF,
  0x1FA70, 0x1FAFF, 0x20000, 0x2FFFD, 0x30000, 0x3FFFD,
}
-- code point ranges of zero width (combining marks, joiners, variation selectors)
local ZERO = {
  0x0300, 0x036F, 0x0483, 0x0489, 0x0591, 0x05BD, 0x0610, 0x061A, 0x064B, 0x065F, 0x0E31, 0x0E31,
  0x0E34, 0x0E3A, 0x0E47, 0x0E4E, 0x1160, 0x11FF, 0x200B, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064,
  0x20D0, 0x20FF, 0x302A, 0x302D, 0x3099, 0x309A, 0xFE00, 0xFE0F, 0xFE20, 0xFE2F, 0xFEFF, 0xFEFF,
  0x1F3FB, 0x1F3FF, 0xE0000, 0xE0FFF,
}

local function in_ranges(r, c)
  local lo, hi = 1, #r // 2
  while lo <= hi do
    local mid = (lo + hi) // 2
    if c < r[2 * mid - 1] then hi = mid - 1
    elseif c > r[2 * mid] then lo = mid + 1
    else return true end
  end
  return false
end

--- pretty.char_width(codepoint) -> 0, 1 or 2 columns.
function M.char_width(c)
  if c < 0x300 then return 1 end
  if in_ranges(ZERO, c) then return 0 end
  if c >= 0x1100 and in_ranges(WIDE, c) then return 2 end
  return 1
end
local char_width = M.char_width

--- pretty.width(s) -> the columns s takes on a terminal (UTF-8; East Asian
-- wide characters and emoji count 2, combining marks 0; invalid UTF-8
-- counts a column a byte).
function M.width(s)
  if not s:find("[\128-\255]") then return #s end
  if not utf8_len(s) then return #s end
  local w = 0
  for ch in s:gmatch(charpattern) do
    local c = utf8_codepoint(ch)
    w = w + (c < 0x300 and 1 or char_width(c))
  end
  return w
end
local width = M.width

--- pretty.truncate(s, w) -> s cut to at most w columns, ending in "…" when cut.
function M.truncate(s, w)
  if width(s) <= w then return s end
  if w <= 0 then return "" end
  if not utf8_len(s) then return s:sub(1, w - 1) .. "…" end
  local out, used = {}, 0
  for ch in s:gmatch(charpattern) do
    local cw = char_width(utf8_codepoint(ch))
    if used + cw > w - 1 then break end
    out[#out + 1] = ch
    used = used + cw
  end
  return concat(out) .. "…"
end
local truncate = M.truncate

-- ---------------------------------------------------------------------------
-- colours

local SGR = { header = "1", null = "2", dim = "2", success = "32", error = "31", killed = "35",
  running = "33", queued = "36", key = "36", more = "2" }

local function paint(style, s, opts)
  if not (opts or M.options).color then return s end
  local code = SGR[style]
  if not code or s == "" then return s end
  return "\27[" .. code .. "m" .. s .. "\27[0m"
end
M.paint = paint

local function term_width(opts)
  local w = (opts and opts.width) or M.options.width
  if type(w) == "function" then w = w() end
  return w
end
M.term_width = term_width

-- ---------------------------------------------------------------------------
-- tables

local function cell(v, max)
  if v == nil or v == null then return "NULL" end
  local s
  if type(v) == "table" then s = M.format(v, 1) else s = tostring(v) end
  s = s:gsub("[%c]", function(c) return c == "\t" and " " or (c == "\n" and "\\n" or "?") end)
  return truncate(s, max)
end

-- Shrink column widths (widest first) until the whole line fits `avail`.
local function fit(widths, header_min, avail)
  local n = #widths
  local total = 0
  for i = 1, n do total = total + widths[i] end
  total = total + 3 * n + 1 -- "| " ... " |"
  while total > avail do
    local wi, ww = nil, 0
    for i = 1, n do
      if widths[i] > ww and widths[i] > header_min[i] then wi, ww = i, widths[i] end
    end
    if not wi then break end
    -- take what is needed from the widest column, but not below the next widest
    local second = 0
    for i = 1, n do if i ~= wi and widths[i] > second then second = widths[i] end end
    local cut = math.min(total - avail, math.max(1, ww - math.max(second, header_min[wi])))
    widths[wi] = ww - cut
    total = total - cut
  end
end

--- pretty.table(columns, rows [, opts]) -> an aligned text table. columns:
-- array of names; rows: arrays (or maps by column name). opts: width (fit
-- within this many columns, cutting cells with "…"; default
-- pretty.options.width), color, max_cell, footer (false to leave out the
-- "(n rows)" line), total (the size of what `rows` was taken from: when
-- larger than #rows the footer says "(first 3 of 50 rows)"; true when that
-- size is unknown: "(first 3 rows)").
function M.table(columns, rows, opts)
  local o = options(opts)
  local n = #columns
  local max_cell = o.max_cell
  local cells, widths, header_min, heads = {}, {}, {}, {}
  for i = 1, n do
    heads[i] = cell(tostring(columns[i]), max_cell)
    widths[i] = width(heads[i])
    header_min[i] = math.min(widths[i], 8)
  end
  for r, row in ipairs(rows) do
    local line = {}
    for i = 1, n do
      local v = row[i]
      if v == nil and type(columns[i]) == "string" then v = row[columns[i]] end
      local s = cell(v, max_cell)
      line[i] = s
      local w = width(s)
      if w > widths[i] then widths[i] = w end
    end
    cells[r] = line
  end
  local avail = term_width(o)
  if avail then
    for i = 1, n do if header_min[i] < 3 then header_min[i] = math.min(widths[i], 3) end end
    fit(widths, header_min, avail)
  end
  local numeric = {}
  for i = 1, n do
    local all = #rows > 0
    for _, line in ipairs(cells) do
      if not (tonumber(line[i]) or line[i] == "NULL") then all = false break end
    end
    numeric[i] = all
  end
  local function fmt(line, style, num)
    local out = {}
    for i = 1, n do
      local s = truncate(line[i], widths[i])
      local pad = (" "):rep(widths[i] - width(s))
      local st = style or (s == "NULL" and "null") or nil
      s = st and paint(st, s, o) or s
      out[i] = (num and num[i]) and (pad .. s) or (s .. pad)
    end
    return "| " .. concat(out, " | ") .. " |"
  end
  local sep = {}
  for i = 1, n do sep[i] = ("-"):rep(widths[i]) end
  local out = { fmt(heads, "header"), "|-" .. concat(sep, "-|-") .. "-|" }
  for _, line in ipairs(cells) do out[#out + 1] = fmt(line, nil, numeric) end
  if o.footer ~= false then
    local total, footer = o.total, nil
    if total == true then
      footer = ("(first %d row%s)"):format(#rows, #rows == 1 and "" or "s")
    elseif type(total) == "number" and total > #rows then
      footer = ("(first %d of %d rows)"):format(#rows, total)
    else
      footer = ("(%d row%s)"):format(#rows, #rows == 1 and "" or "s")
    end
    out[#out + 1] = paint("dim", footer, o)
  end
  return concat(out, "\n")
end

-- ---------------------------------------------------------------------------
-- any value

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
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function quote(s)
  return (("%q"):format(s):gsub("\\\n", "\\n"))
end

local function format(v, depth, indent, seen, o)
  if v == null then return "null" end
  local t = type(v)
  if t == "string" then return quote(v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if next(v) == nil then return "{}" end
  if depth <= 0 then return "{…}" end
  seen[v] = true
  local parts = {}
  local limit = o.max_items
  if is_array(v) then
    for i, x in ipairs(v) do
      if i > limit then
        parts[#parts + 1] = ("… %d more"):format(#v - limit)
        break
      end
      parts[#parts + 1] = format(x, depth - 1, indent .. "  ", seen, o)
    end
  else
    local keys = sorted_keys(v)
    for i, k in ipairs(keys) do
      if i > limit then
        parts[#parts + 1] = ("… %d more"):format(#keys - limit)
        break
      end
      local ks = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k
        or ("[" .. format(k, 1, "", seen, o) .. "]")
      parts[#parts + 1] = ks .. " = " .. format(v[k], depth - 1, indent .. "  ", seen, o)
    end
  end
  seen[v] = nil
  local one = "{ " .. concat(parts, ", ") .. " }"
  local room = (term_width(o) or 100) - #indent
  if width(one) <= math.min(100, room) and not one:find("\n", 1, true) then return one end
  return "{\n" .. indent .. "  " .. concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

--- pretty.format(v [, depth [, opts]]) -> v as text: tables in Lua syntax
-- down to `depth` levels (default options.max_depth; deeper ones are
-- `{…}`), at most options.max_items entries per table (then "… n more"),
-- a table inside itself as `<cycle>`. Values with __tostring use it.
function M.format(v, depth, opts)
  local o = options(opts)
  return format(v, depth or o.max_depth, "", {}, o)
end

-- ---------------------------------------------------------------------------
-- objects as records

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
M.record_columns = record_columns

local function clock(s)
  if type(s) ~= "number" then return nil end
  s = math.floor(s)
  if s < 60 then return s .. " s" end
  if s < 3600 then return ("%d min %d s"):format(s // 60, s % 60) end
  return ("%d h %d min"):format(s // 3600, s % 3600 // 60)
end

local function one_line(s)
  return (tostring(s):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

local function first_lines(text, n, indent, o)
  local out = {}
  for line in tostring(text):gmatch("[^\n]+") do
    if #out >= n then
      out[#out + 1] = indent .. paint("more", "…", o)
      break
    end
    local avail = term_width(o)
    out[#out + 1] = indent .. (avail and truncate(line, avail - #indent) or line)
  end
  return out
end

-- a line of fields separated by two spaces, the last one (a query) cut to fit
local function record_line(parts, tail, o)
  local line = concat(parts, "  ")
  if tail then
    local avail = term_width(o)
    local room = avail and (avail - width(line) - 2) or 80
    if room > 8 then line = line .. "  " .. truncate(tail, room) end
  end
  return line
end

local function status(s, o) return s and paint(s, s, o) or "?" end

local RECORDS = {}

RECORDS["td.v3.job"] = function(j, o)
  local parts = { "job " .. tostring(j.job_id), status(j.status, o) }
  if j.type then parts[#parts + 1] = j.type end
  if j.database then parts[#parts + 1] = j.database end
  if j.duration then parts[#parts + 1] = clock(j.duration) end
  if j.num_records then parts[#parts + 1] = j.num_records .. (j.num_records == 1 and " row" or " rows") end
  local q = j.query
  if type(q) == "table" then q = nil end
  local lines = { record_line(parts, q and ('"' .. one_line(q) .. '"'), o) }
  local stderr = type(j.debug) == "table" and j.debug.stderr
  if (j.status == "error" or j.status == "killed") and type(stderr) == "string" and stderr:find("%S") then
    for _, l in ipairs(first_lines(stderr, 3, "  ", o)) do lines[#lines + 1] = l end
  elseif j.status == "error" then
    lines[#lines + 1] = paint("dim", "  (job:show() fetches the error output)", o)
  end
  return concat(lines, "\n")
end

local function wf_name(x)
  local p = x.project_name or (type(x.project) == "table" and x.project.name)
  local w = x.workflow_name or (type(x.workflow) == "table" and x.workflow.name)
  if p or w then return (p or "?") .. "/" .. (w or "?") end
  return nil
end

RECORDS["td.workflow.attempt"] = function(a, o)
  local parts = { "attempt " .. tostring(a.id), status(a.status, o) }
  parts[#parts + 1] = wf_name(a)
  if a.sessionTime then parts[#parts + 1] = "session " .. tostring(a.sessionTime) end
  if a.retryAttemptName then parts[#parts + 1] = "retry " .. tostring(a.retryAttemptName) end
  if a.createdAt then parts[#parts + 1] = "created " .. tostring(a.createdAt) end
  if a.finishedAt then parts[#parts + 1] = "finished " .. tostring(a.finishedAt) end
  return concat(parts, "  ")
end

RECORDS["td.workflow.session"] = function(s, o)
  local parts = { "session " .. tostring(s.id) }
  parts[#parts + 1] = wf_name(s)
  if s.sessionTime then parts[#parts + 1] = tostring(s.sessionTime) end
  local la = type(s.lastAttempt) == "table" and s.lastAttempt
  if la then
    local st = la.status
    if not st then
      st = la.success and "success" or (la.done and "error") or "running"
    end
    parts[#parts + 1] = "last attempt " .. tostring(la.id or "?") .. " " .. status(st, o)
  end
  return concat(parts, "  ")
end

RECORDS["td.workflow.schedule"] = function(s, o)
  local parts = { "schedule " .. tostring(s.id) }
  parts[#parts + 1] = wf_name(s)
  if s.disabledAt then parts[#parts + 1] = paint("dim", "disabled", o)
  elseif s.nextRunTime then parts[#parts + 1] = "next " .. tostring(s.nextRunTime) end
  if s.nextScheduleTime then parts[#parts + 1] = "session " .. tostring(s.nextScheduleTime) end
  return concat(parts, "  ")
end

RECORDS["td.workflow.project"] = function(p)
  local parts = { "project " .. tostring(p.id), tostring(p.name or "?") }
  if p.revision then parts[#parts + 1] = "revision " .. tostring(p.revision) end
  if p.updatedAt then parts[#parts + 1] = "updated " .. tostring(p.updatedAt) end
  return concat(parts, "  ")
end

RECORDS["td.error"] = function(e, o)
  local lines = { paint("error", tostring(e), o) }
  local stderr = rawget(e, "stderr")
  if type(stderr) == "string" and stderr:find("%S") then
    for _, l in ipairs(first_lines(stderr, 3, "  ", o)) do lines[#lines + 1] = l end
  end
  return concat(lines, "\n")
end

-- the columns of a table of objects, by metatable __name
local COLUMNS = {
  ["td.v3.job"] = { "job_id", "status", "type", "database", "created_at", "duration", "num_records", "query" },
  ["td.workflow.attempt"] = { "id", "status", "project_name", "workflow_name", "sessionTime", "createdAt", "finishedAt" },
  ["td.workflow.session"] = { "id", "project", "workflow", "sessionTime", "last_attempt" },
  ["td.workflow.schedule"] = { "id", "project", "workflow", "nextRunTime", "nextScheduleTime", "disabledAt" },
  ["td.workflow.project"] = { "id", "name", "revision", "updatedAt" },
}

local function column_value(x, col)
  local v = x[col]
  if (col == "project" or col == "workflow") and type(v) == "table" then return v.name end
  if col == "last_attempt" then
    local la = x.lastAttempt
    if type(la) ~= "table" then return nil end
    return la.status or (la.success and "success") or (la.done and "error") or "running"
  end
  if col == "query" and type(v) == "string" then return one_line(v) end
  if type(v) == "table" then return nil end
  return v
end

-- An array of objects of one kind as a table, or nil.
local function object_table(list, o)
  local mt = getmetatable(list[1])
  local cols = mt and COLUMNS[rawget(mt, "__name") or ""]
  if not cols then return nil end
  for _, x in ipairs(list) do if getmetatable(x) ~= mt then return nil end end
  local rows = {}
  for i, x in ipairs(list) do
    local row = {}
    for c, col in ipairs(cols) do row[c] = column_value(x, col) end
    rows[i] = row
  end
  return M.table(cols, rows, o)
end

--- pretty.columns(name, cols) - the columns of a table of objects whose
-- metatable __name is name.
function M.columns(name, cols) COLUMNS[name] = cols end

RECORDS["td.pager"] = function(it, o)
  local page, more = it:peek(o.page or 20)
  local text
  if #page == 0 then
    text = "(no items)"
  elseif type(page[1]) == "table" and getmetatable(page[1]) then
    text = object_table(page, setmetatable({ footer = false }, { __index = o }))
    if not text then
      local lines = {}
      for _, x in ipairs(page) do lines[#lines + 1] = M.render(x, o) end
      text = concat(lines, "\n")
    end
  else
    text = M.table(record_columns(page), page, setmetatable({ footer = false }, { __index = o }))
  end
  if more then text = text .. "\n" .. paint("more", "… more: it:all()", o) end
  return text
end

--- The record printer registered for a metatable __name, if any.
function M.record(name) return RECORDS[name] end

--- pretty.register(name, fn) - print objects whose metatable __name is
-- name with fn(obj, opts) -> text.
function M.register(name, fn) RECORDS[name] = fn end

-- The summary method an object declares, found without running __index
-- functions (which may load code or make requests).
local function summary_of(v, mt)
  local s = rawget(mt, "summary")
  if s == nil and type(rawget(mt, "__index")) == "table" then s = rawget(mt.__index, "summary") end
  if type(s) == "function" then return s end
  return nil
end

--- pretty.render(v [, opts]) -> how the REPL shows a value: objects as
-- short records (the record printer registered for their kind, else their
-- `summary()`), paging iterators
-- as their first page with "… more", arrays of records as aligned tables
-- fitted to the width, anything else through pretty.format.
function M.render(v, opts)
  local o = options(opts)
  local mt = type(v) == "table" and getmetatable(v)
  if mt then
    local name = rawget(mt, "__name")
    -- the REPL's record block for the kind (several fields, stderr of a
    -- failed job, ...) first, else the object's own one-line summary()
    local rec = name and RECORDS[name]
    if rec then return rec(v, o) end
    local s = summary_of(v, mt)
    if s then
      local ok, text = pcall(s, v)
      if ok and type(text) == "string" then return text end
    end
    if mt.__tostring then return tostring(v) end
  end
  if type(v) == "table" and not mt and #v > 0 and is_array(v) then
    local all_records, objects = true, true
    for i, x in ipairs(v) do
      local xmt = type(x) == "table" and getmetatable(x)
      if not (xmt and RECORDS[rawget(xmt, "__name") or ""]) then objects = false end
      if type(x) ~= "table" or is_array(x) then all_records = false end
      if i > 1000 then break end
    end
    local t = objects and object_table(v, o)
    if t then return t end
    if objects then
      local lines = {}
      for i, x in ipairs(v) do
        if i > o.max_items then
          lines[#lines + 1] = paint("more", ("… %d more"):format(#v - o.max_items), o)
          break
        end
        lines[#lines + 1] = M.render(x, o)
      end
      return concat(lines, "\n")
    end
    if all_records then return M.table(record_columns(v), v, o) end
  end
  return M.format(v, nil, o)
end

--- pretty.show(...) - print each value as the REPL does (pretty.render),
-- one after another on stdout. Returns nothing.
function M.show(...)
  local n = select("#", ...)
  for i = 1, n do io.stdout:write(M.render((select(i, ...))), "\n") end
end

--- pretty.print_values(...) - print a line's results, tab separated (the
-- REPL's default printer).
function M.print_values(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.render((select(i, ...))) end
  io.stdout:write(concat(out, "\t"), "\n")
end

return M
