-- streaming a result from bytes: gzip + msgpack rows decoded in chunks and
-- written as csv by the C text writer
return {
  setup = function()
    local core = require "td.core"
    local ref = require "msgpack_ref"
    local rows = {}
    for i = 1, 300 do
      rows[i] = ref.encode { i, "name_" .. i, i * 1.5, i % 2 == 0, { "t" .. i % 3 }, { k = "v" .. i } }
    end
    return core.gzip(table.concat(rows))
  end,
  run = function(gz)
    local core = require "td.core"
    local formats = require "td.v3.formats"
    local d = core.decoder { gzip = true, thread = false }
    local out = {}
    local w = formats.writer("csv", function(s) out[#out + 1] = s end,
      { { "id", "bigint" }, { "name", "varchar" }, { "score", "double" }, { "ok", "boolean" }, { "tags", "array(varchar)" }, { "m", "map(varchar,varchar)" } },
      { header = true })
    for i = 1, #gz, 997 do
      d:feed(gz:sub(i, i + 996))
      while true do
        local row = d:next()
        if row == nil then break end
        w:row(row)
      end
    end
    d:finish()
    w:finish()
    assert(#table.concat(out) > 0)
  end,
}
