-- The td.conf parser (td.config.read_tdconf) and the endpoint check
-- (normalize_endpoint) on any text.
local config = require "td.config"
local core = require "td.core"

local path = (os.getenv("TMPDIR") or "/tmp") .. "/tdfuzz-tdconf-" .. tostring(os.time()) .. ".conf"

return function(data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  core.chmod(path, 384) -- 0600: a td.conf others can read is warned about
  local ok, v = pcall(config.read_tdconf, path)
  os.remove(path)
  if not ok then error(v, 0) end
  local line = data:match("^[^\n]*")
  config.normalize_endpoint(line, (data:byte(1) or 0) % 2 == 1, "endpoint")
end
