-- The gzip+msgpack row decoder (td.core.decoder) fed in arbitrary chunks.
-- Byte 1 picks the mode: bit 0-1: 0 plain msgpack, 1 the rest is taken as
-- gzip bytes, 2 the rest is gzipped first (valid gzip around fuzzed
-- msgpack); bit 2: rows only; bit 3: keyed rows; bit 4: inflate on a
-- thread. The chunk sizes come from a generator seeded by byte 1.
local core = require "td.core"

return function(data)
  if #data < 1 then return end
  local mode = data:byte(1)
  local body = data:sub(2)
  local kind = mode % 4
  if kind == 2 then body = core.gzip(body) end
  local d = core.decoder {
    gzip = kind == 1 or kind == 2, rows = mode & 4 ~= 0,
    keys = mode & 8 ~= 0 and { "a", "b", "c" } or nil, thread = mode & 16 ~= 0,
  }
  local pos, seed, n = 1, mode + 1, 0
  while pos <= #body do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local len = 1 + seed % 97
    d:feed(body:sub(pos, pos + len - 1))
    pos = pos + len
    while d:next() ~= nil do
      n = n + 1
      if n > 200000 then return end
    end
  end
  d:finish()
  while d:next() ~= nil do end
end
