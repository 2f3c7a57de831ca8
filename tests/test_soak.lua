-- a short soak (make soak runs 10,000 requests and 100 result streams):
-- requests and result streams under random faults in one process end in a
-- result or a structured error, with memory, file descriptors and requests
-- in flight flat (tests/soak/soak.lua)
package.path = "tests/soak/?.lua;" .. package.path
local t = require "testlib"
local soak = require "soak"

t.test("soak: 400 requests and 4 result streams under random faults", function()
  local f = soak.run { requests = 400, streams = 4, seed = 7 }
  t.eq(f.results + f.errors, f.requests + f.streams + math.min(200, 400), "every call ended")
  t.ok(f.faults > 0, "faults were injected")
end)
