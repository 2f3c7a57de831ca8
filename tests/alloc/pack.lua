-- packing an import: records through td.core.packer (msgpack + gzip)
return {
  setup = function()
    local recs = {}
    for i = 1, 300 do
      recs[i] = { time = 1764000000 + i, id = i, name = "name_" .. i, score = i * 1.5, tags = { "a", "b" },
                  note = i % 7 == 0 and "" or ("note " .. i):rep(3) }
    end
    return recs
  end,
  run = function(recs)
    local core = require "td.core"
    local p <close> = core.packer { gzip = true, require_time = true }
    for _, r in ipairs(recs) do p:add(r) end
    assert(#p:finish() > 0)
  end,
}
