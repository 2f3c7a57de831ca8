-- The msgpack.gz packer (td.core.packer) on records decoded from fuzzed
-- msgpack; what it packs must decode back to as many records.
local core = require "td.core"
local errors = require "td.errors"

return function(data)
  local d = core.decoder {}
  d:feed(data)
  d:finish()
  local p <close> = core.packer { gzip = true, level = 1 }
  local added = 0
  local ok = pcall(function()
    for _ = 1, 256 do
      local v = d:next()
      if v == nil then break end
      if type(v) == "table" and pcall(p.add, p, v) then added = added + 1 end
    end
  end)
  local chunk = p:finish()
  if added == 0 then
    if chunk ~= nil then errors.raise { kind = "fuzz", message = "BUG: a chunk without records" } end
    return ok
  end
  local back = core.decoder { gzip = true }
  back:feed(chunk)
  back:finish()
  local n = 0
  while back:next() ~= nil do n = n + 1 end
  if n ~= added then
    errors.raise { kind = "fuzz", message = ("BUG: packed %d records, %d decode back"):format(added, n) }
  end
end
