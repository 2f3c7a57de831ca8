--- td.json: JSON text for scripts' own files.
--   local cfg = td.json.read("config.json")
--   td.json.write("state.json", { day = "2026-11-21", jobs = { 1, 2 } })
--   td.json.decode('{"a": 1}').a --> 1 (an integer)
-- Decoding is td.core.json_decode (C, strict RFC 8259): JSON null is
-- td.null; a number written without a fraction or exponent is a Lua
-- integer, exactly (ids of 19 digits keep every digit), or its decimal text
-- when it does not fit in 64 bits; other numbers are floats.
-- Encoding is td.v3.formats.json's, the one used for job results: keys
-- sorted, floats in their shortest exact form, td.null as null, a table
-- with keys 1..n as an array (an empty table is []), any other table an
-- object; values nested more than 64 deep raise.
local errors = require "td.errors"
local textfile = require "td.textfile"

local M = {}

local json_decode = require("td.core").json_decode

--- Decode JSON text without raising: value, or nil and the reason.
function M._decode(text)
  local v, err, pos = json_decode(text)
  if v == nil and err then return nil, ("%s at byte %d"):format(err, pos) end
  return v
end
local decode = M._decode

--- td.json.decode(text) -> value. Malformed text raises `bad_input`.
function M.decode(text)
  errors.check("td.json.decode", "text", text, "string")
  local v, err = decode(text)
  if v == nil and err then
    errors.raise { kind = "bad_input", reason = err, message = "td.json.decode: " .. err }
  end
  return v
end

--- td.json.encode(value) -> JSON text (one line).
function M.encode(v)
  return require("td.v3.formats").json(v)
end

--- td.json.read(source) -> the value in a JSON file (path, "-" or a
-- handle). Malformed JSON raises `bad_input` naming the file.
function M.read(source)
  local f, close, name = textfile.open_in("td.json.read", source)
  local text, rerr = f:read("a")
  close()
  if not text then
    errors.raise { kind = "io", file = name, message = ("td.json.read: reading %s: %s"):format(name, tostring(rerr)) }
  end
  local v, err = decode(text)
  if v == nil and err then
    errors.raise { kind = "bad_input", file = name, reason = err,
      message = ("td.json.read: %s: %s"):format(name, err) }
  end
  return v
end

--- td.json.write(target, value) -> nothing. Writes the JSON text and a
-- line end to a path (through .tmp and a rename), "-" or a handle.
function M.write(target, v)
  local out = textfile.open_out("td.json.write", target)
  local ok, err = pcall(function() out.write(M.encode(v) .. "\n") end)
  if not ok then out.abort(); error(err, 0) end
  out.commit()
end

return M
