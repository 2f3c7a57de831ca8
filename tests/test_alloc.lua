-- allocation failures: a Lua allocator that fails the n-th allocation (and
-- every later one) swept over n while packing an import, streaming a
-- result and making requests (tests/alloc/allocfail.c): an error every
-- time, never a crash; under `make asan` also no leak (LSan). The suite
-- sweeps about 40 points per scenario; ALLOC_STEP=1 sweeps every one.
local t = require "testlib"
local test, ok, like = t.test, t.ok, t.like

local BIN = os.getenv("TDLUA_SANITIZER") and "build/asan/allocfail" or "build/allocfail"

local function sweep(scenario, points)
  ok(t.exists(BIN), BIN .. " is built by make test / make asan")
  -- lua-cjson (Debian's) leaks its decode buffer when Lua runs out of
  -- memory inside cjson.decode: a third-party leak, suppressed by name
  local env = { TDFAKE_URL = t.fake().url, LSAN_OPTIONS = "suppressions=tests/alloc/lsan.supp:print_suppressions=0" }
  local step = tonumber(os.getenv("ALLOC_STEP"))
  if not step then
    -- a first run counts the allocations; then about `points` failure points
    local _, out = t.run_bin(BIN, "tests/alloc/" .. scenario .. ".lua 1000000000", env)
    local total = tonumber(out:match(": (%d+) allocations"))
    ok(total, "counted the allocations: " .. out)
    step = math.max(1, total // points)
  end
  local code, out, err = t.run_bin(BIN, ("tests/alloc/%s.lua %d"):format(scenario, step), env)
  if code ~= 0 then error(("allocfail %s (exit %s):\n%s%s"):format(scenario, tostring(code), out, err:sub(1, 3000)), 0) end
  like(out, " 0 swallowed")
  -- a point beyond the allocations of this run (they vary a little with the
  -- network's timing) fails nothing and may succeed; every other one errs
  local points, errs, oks = out:match("(%d+) failure points; (%d+) errors, (%d+) successes")
  ok(tonumber(points) > 0 and tonumber(errs) + tonumber(oks) == tonumber(points) and tonumber(oks) <= 2,
    "an error at every failure point: " .. out)
end

test("packing an import: an error at every failed allocation, no crash, no leak", function()
  sweep("pack", 40)
end)

test("streaming a result (gzip, msgpack, csv): an error at every failed allocation", function()
  sweep("decode", 40)
end)

test("requests and a streamed job result: an error at every failed allocation", function()
  t.reset()
  sweep("request", 40)
end)
