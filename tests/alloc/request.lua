-- making requests against the fake TD server (TDFAKE_URL): a JSON read and a
-- job's result streamed row by row
local KEY = "1/0123456789abcdef0123456789abcdef01234567"
return {
  setup = function()
    local td = require "td"
    local c = td.client { endpoint = assert(os.getenv("TDFAKE_URL")), apikey = KEY, config_path = "/nonexistent",
                          retry_max_time = 0.2, retry_base_delay = 0.01, retry_max_delay = 0.02, timeout = 5 }
    local job = c:query("SELECT * FROM t -- fake_rows(200)", { db = "web" }):wait { interval = 0.01 }
    return { c = c, job = job }
  end,
  run = function(ctx)
    assert(#ctx.c:databases() >= 2)
    local n = 0
    for _ in ctx.job:rows() do n = n + 1 end
    assert(n == 200)
  end,
}
