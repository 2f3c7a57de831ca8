--- td.workflow.tar: a small ustar (POSIX tar) writer and reader, for
-- project archives (tar.gz: gzip through td.core.gzip/gunzip).
--   tar.pack{ {name = "a.dig", data = "..."}, {name = "dir", type = "dir"} } -> bytes
--   tar.unpack(bytes) -> { {name =, type = "file"|"dir"|"symlink"|"hardlink"|"other",
--                          data =, linkname =, mode =, size =, mtime =}, ... }
-- The reader also understands pax ('x') path/linkpath records and GNU long
-- names ('L', 'K'), which other tools write for long paths.
local errors = require "td.errors"

local M = {}

local BLOCK = 512
local ZERO = ("\0"):rep(BLOCK)
local TYPEFLAG = { file = "0", dir = "5", symlink = "2" }

local function octal(n, width)
  -- width bytes: digits, then NUL
  local s = ("%0" .. (width - 1) .. "o"):format(n)
  if #s > width - 1 then
    errors.raise { kind = "usage", message = ("tar: value %d does not fit a %d-byte field"):format(n, width) }
  end
  return s .. "\0"
end

local function field(s, width)
  if #s > width then
    errors.raise { kind = "usage", message = ("tar: %q is longer than %d bytes"):format(s, width) }
  end
  return s .. ("\0"):rep(width - #s)
end

-- ustar keeps up to 100 bytes of name plus a 155-byte prefix, split at a "/"
local function split_name(name)
  if #name <= 100 then return name, "" end
  for i = math.min(#name - 1, 156), 1, -1 do
    if name:sub(i, i) == "/" then
      local prefix, rest = name:sub(1, i - 1), name:sub(i + 1)
      if #prefix <= 155 and #rest <= 100 and #rest > 0 then return rest, prefix end
    end
  end
  errors.raise { kind = "usage", message = ("tar: path too long for a ustar archive: %s"):format(name) }
end

local function header(e)
  local name, prefix = split_name(e.name)
  local typ = TYPEFLAG[e.type or "file"]
  if not typ then
    errors.raise { kind = "usage", message = ("tar: unknown entry type %q"):format(tostring(e.type)) }
  end
  local size = (e.type or "file") == "file" and #e.data or 0
  local mode = e.mode or ((e.type == "dir") and 493 or 420) -- 0755 / 0644
  local h = table.concat {
    field(name, 100), octal(mode, 8), octal(0, 8), octal(0, 8), octal(size, 12),
    octal(math.floor(e.mtime or 0), 12), "        ", typ, field(e.linkname or "", 100),
    "ustar\0", "00", field(e.uname or "", 32), field(e.gname or "", 32),
    octal(0, 8), octal(0, 8), field(prefix, 155), ("\0"):rep(12),
  }
  local sum = 0
  for i = 1, BLOCK do sum = sum + h:byte(i) end
  return h:sub(1, 148) .. ("%06o\0 "):format(sum) .. h:sub(157)
end

--- Pack entries into an uncompressed ustar archive.
function M.pack(entries)
  local out = {}
  for _, e in ipairs(entries) do
    if type(e.name) ~= "string" or e.name == "" then
      errors.raise { kind = "usage", message = "tar: every entry needs a name" }
    end
    local name = e.name
    if e.type == "dir" and name:sub(-1) ~= "/" then name = name .. "/" end
    local copy = setmetatable({ name = name }, { __index = e })
    out[#out + 1] = header(copy)
    if (e.type or "file") == "file" then
      out[#out + 1] = e.data
      local pad = (-#e.data) % BLOCK
      if pad > 0 then out[#out + 1] = ("\0"):rep(pad) end
    end
  end
  out[#out + 1] = ZERO
  out[#out + 1] = ZERO
  return table.concat(out)
end

local function cstr(s)
  local z = s:find("\0", 1, true)
  return z and s:sub(1, z - 1) or s
end

local function num(s)
  local b = s:byte(1)
  if b and b >= 128 then -- base-256 (GNU) for big values
    local n = b & 0x7f
    for i = 2, #s do n = n * 256 + s:byte(i) end
    return n
  end
  s = cstr(s):gsub("^%s+", ""):gsub("%s+$", "")
  if s == "" then return 0 end
  return tonumber(s, 8)
end

local function bad(msg)
  errors.raise { kind = "bad_archive", message = "not a valid tar archive: " .. msg }
end

-- pax extended header records: "<len> key=value\n"
local function pax(data)
  local t, i = {}, 1
  while i <= #data do
    local len = data:match("^(%d+) ", i)
    -- a record holds at least its length, a space and a newline: a shorter
    -- length would not move on (and loop for ever)
    if not len or tonumber(len) < #len + 2 then break end
    local rec = data:sub(i, i + tonumber(len) - 1)
    local k, v = rec:match("^%d+ ([^=]+)=(.*)\n$")
    if k then t[k] = v end
    i = i + tonumber(len)
  end
  return t
end

local KIND = { ["0"] = "file", ["\0"] = "file", ["7"] = "file", ["5"] = "dir", ["2"] = "symlink", ["1"] = "hardlink" }

--- Read an uncompressed tar archive into a list of entries.
function M.unpack(s)
  local entries, pos = {}, 1
  local next_name, next_link, ext = nil, nil, nil
  while pos + BLOCK - 1 <= #s do
    local h = s:sub(pos, pos + BLOCK - 1)
    if h == ZERO then break end
    local sum = 0
    for i = 1, BLOCK do
      sum = sum + ((i >= 149 and i <= 156) and 32 or h:byte(i))
    end
    local want = num(h:sub(149, 156))
    if want ~= sum then bad("header checksum mismatch at byte " .. (pos - 1)) end
    local size = num(h:sub(125, 136))
    if not size or size < 0 then bad("bad size field") end
    local typ = h:sub(157, 157)
    local data = s:sub(pos + BLOCK, pos + BLOCK + size - 1)
    if #data < size then bad("truncated entry") end
    pos = pos + BLOCK + size + ((-size) % BLOCK)
    if typ == "L" then
      next_name = cstr(data)
    elseif typ == "K" then
      next_link = cstr(data)
    elseif typ == "x" then
      ext = pax(data)
    elseif typ == "g" then
      -- global pax header: nothing we use
    else
      local name = cstr(h:sub(1, 100))
      if h:sub(258, 262) == "ustar" then
        local prefix = cstr(h:sub(346, 500))
        if prefix ~= "" then name = prefix .. "/" .. name end
      end
      local link = cstr(h:sub(158, 257))
      if ext then
        name = ext.path or name
        link = ext.linkpath or link
      end
      name = next_name or name
      link = next_link or link
      next_name, next_link, ext = nil, nil, nil
      local kind = KIND[typ] or "other"
      if kind == "file" and name:sub(-1) == "/" then kind = "dir" end
      entries[#entries + 1] = {
        name = name, type = kind, data = kind == "file" and data or nil,
        linkname = link ~= "" and link or nil, mode = num(h:sub(101, 108)),
        size = size, mtime = num(h:sub(137, 148)),
      }
    end
  end
  return entries
end

return M
