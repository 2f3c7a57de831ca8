-- The text writers (csv, tsv, json, jsonl; in C) against their Lua
-- reference on rows decoded from fuzzed msgpack: the output must be byte
-- for byte the same. Byte 1 picks the column types and the header.
local core = require "td.core"
local formats = require "td.v3.formats"
local errors = require "td.errors"

local TYPES = { "varchar", "bigint", "double", "boolean", "array(varchar)", "map(varchar,varchar)", "varbinary", "json" }

return function(data)
  if #data < 1 then return end
  local mode = data:byte(1)
  local d = core.decoder { rows = true }
  d:feed(data:sub(2))
  d:finish()
  local rows = {}
  local ok = pcall(function()
    while #rows < 64 do
      local r = d:next()
      if r == nil then break end
      rows[#rows + 1] = r
    end
  end)
  if #rows == 0 then return end
  local width = #rows[1]
  local columns = {}
  for i = 1, width do columns[i] = { "c" .. i, TYPES[(mode + i) % #TYPES + 1] } end
  for _, fmt in ipairs { "csv", "tsv", "json", "jsonl" } do
    local opts = { header = mode & 1 == 1, objects = mode & 2 == 2 and (fmt == "json" or fmt == "jsonl") or nil }
    local a, b = {}, {}
    local wc = formats.writer(fmt, function(s) a[#a + 1] = s end, columns, opts)
    local wl = require("formats_oracle").writer(fmt, function(s) b[#b + 1] = s end, columns, opts)
    local okc, ec = pcall(function() for _, r in ipairs(rows) do wc:row(r) end wc:finish() end)
    local okl, el = pcall(function() for _, r in ipairs(rows) do wl:row(r) end wl:finish() end)
    if okc ~= okl then
      errors.raise { kind = "fuzz", message = ("BUG: %s: the C writer %s, the Lua reference %s"):format(fmt,
        okc and "succeeds" or ("fails (" .. tostring(ec) .. ")"), okl and "succeeds" or ("fails (" .. tostring(el) .. ")")) }
    end
    if okc and table.concat(a) ~= table.concat(b) then
      errors.raise { kind = "fuzz", message = ("BUG: %s: the C writer and the Lua reference differ:\n%q\n%q"):format(
        fmt, table.concat(a):sub(1, 300), table.concat(b):sub(1, 300)) }
    end
  end
  return ok
end
