--- td.v3.formats: result rows as csv, tsv, json and jsonl text.
-- The same rules for every format (see docs/results.md):
--   * SQL NULL (td.null) is an empty field in csv/tsv and `null` in json.
--   * Booleans are true/false. Integers are written as they are; floats in
--     the shortest form that reads back to the same double, laid out as
--     Python's repr does ("1.5", "3.0", "1e+300"); NaN and infinities are
--     NaN, Infinity, -Infinity (JSON strings in json, which has no such
--     numbers).
--   * Nested arrays and maps are JSON text in csv/tsv; map keys are sorted.
--     An empty nested table is [] unless its column is a map type.
--   * A column typed varbinary/binary is written base64 (as TD does).
--     Integers beyond int64 (they arrive as decimal strings) are numbers
--     in json when the column has an integer type.
--   * Strings are written as their bytes in csv/tsv, even when they are
--     not valid UTF-8. In json every byte that is not part of a valid
--     UTF-8 sequence becomes U+FFFD, so the output is always valid JSON.
--   * csv: RFC 4180; a field is quoted when it holds a comma, a double
--     quote, CR or LF, and quotes are doubled; lines end with "\n". A row
--     made of one empty field is written as "" so it is not a blank line.
--   * tsv: backslash escapes for \\, \t, \n and \r.
--   * jsonl: one JSON array per row and line (header: the column names as
--     the first line); json: one JSON array holding those rows, one per line.
--     objects = true writes each row as an object keyed by column name.
-- The formats are implemented once, in C (td.core.textwriter; see
-- src/textout.c); this module is the thin Lua side: column kinds from the
-- schema, and a writer object that feeds rows (or a whole decoded stream,
-- with no Lua table per row) to the C writer and hands its text to a sink.
local M = {}

local core = require "td.core"

M.FORMATS = { csv = true, tsv = true, json = true, jsonl = true, ["msgpack.gz"] = true }

-- --------------------------------------------------------------------------
-- column kinds from the schema

local INT_TYPES = { tinyint = true, smallint = true, int = true, integer = true, bigint = true, long = true }

--- The kind of a column from its SQL type: "bin", "int", "map" or "other".
function M.kind(sqltype)
  if type(sqltype) ~= "string" then return "other" end
  local t = sqltype:lower():match("^%s*([%a_]+)")
  if t == "varbinary" or t == "binary" then return "bin" end
  if INT_TYPES[t] then return "int" end
  if t == "map" then return "map" end
  return "other"
end

--- The names and kinds of the columns of a decoded hive_result_schema
-- ({ {name, type}, ... }): two arrays (unnamed columns are _col<i-1>).
function M.columns(columns)
  local names, kinds = {}, {}
  for i, col in ipairs(columns or {}) do
    local name = type(col) == "table" and col[1] or nil
    names[i] = (type(name) == "string" and name ~= "") and name or ("_col" .. (i - 1))
    kinds[i] = M.kind(type(col) == "table" and col[2] or nil)
  end
  return names, kinds
end

--- The JSON text of a value by the rules of the JSON cells (td.null is
-- null; tables are arrays or maps with sorted keys; ", " and ": "
-- separators; NaN and the infinities as strings). Raises "value nested too
-- deeply for JSON" beyond 64 levels.
M.json = core.json_encode

-- the writer in C: text is handed to the sink in pieces of about FLUSH bytes
local FLUSH = 64 * 1024
local TEXT = { csv = true, tsv = true, json = true, jsonl = true }

local CWriter = {}
CWriter.__index = CWriter

--- A writer of one format to a sink function(str).
-- columns = { {name, type}, ... } (a decoded hive_result_schema; may be
-- empty). opts: header = bool, objects = bool (json/jsonl only).
-- Methods: w:row(row), w:pull(decoder), w:finish(); w.rows counts the rows
-- written. The sink gets the text in pieces of any size (the header, if
-- any, at once). Raises on an unknown format.
function M.writer(fmt, sink, columns, opts)
  if not TEXT[fmt] then error("unknown format " .. tostring(fmt), 2) end
  opts = opts or {}
  local names, kinds = M.columns(columns)
  local tw = core.textwriter { format = fmt, kinds = kinds, names = names,
    header = opts.header and true or false, objects = opts.objects and true or false }
  local head = tw:take()
  if head then sink(head) end
  return setmetatable({ sink = sink, rows = 0, fmt = fmt, tw = tw }, CWriter)
end

--- Write one row (an array as job:rows() yields it).
function CWriter:row(row)
  local tw = self.tw
  if tw:row(row) >= FLUSH then self.sink(tw:take()) end
  self.rows = self.rows + 1
end

--- Write every complete row the decoder dec (a td.core.decoder of a
-- result stream) can give without waiting for the network, straight from
-- msgpack to text: no Lua table per row. Returns the state of the stream:
-- "empty" (refill it: wait for bytes, or finish it) or "end" (finished and
-- whole; a stream that ended inside a row raises a `truncated` error).
function CWriter:pull(dec)
  local tw, sink = self.tw, self.sink
  while true do
    local n, state = dec:write(tw, FLUSH)
    self.rows = self.rows + n
    if state ~= "full" then return state end
    sink(tw:take())
  end
end

--- Finish the output (closes the JSON array for json).
function CWriter:finish()
  local tw = self.tw
  tw:finish()
  local s = tw:take()
  tw:close()
  if s then self.sink(s) end
end

return M
