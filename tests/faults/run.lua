-- tests/faults/run.lua - the whole fault matrix (make faults).
--   ./tdlua tests/faults/run.lua [pattern]
-- One line per row (ok / FAIL / skip with the reason), then the rows that
-- fail although tests/faults/expected.lua does not list them, and the listed
-- rows that now pass. Exit status 0 when the matrix matches the list.
package.path = "tests/lib/?.lua;tests/faults/?.lua;" .. package.path
local t = require "testlib"
local matrix = require "matrix"
local expected = require "expected"
local core = require "td.core"

local only = arg[1]
local counts = { ok = 0, fail = 0, skip = 0 }
local surprises, fixed = {}, {}
local t0 = core.now()
for _, row in ipairs(matrix.rows()) do
  if not only or row.id:find(only, 1, true) then
    local r0 = core.now()
    local ok, res = pcall(row.run)
    local bad = t.contract_violations()
    if ok and #bad > 0 then ok, res = false, "request breaks TD's API description: " .. bad[1].violations[1] end
    local dt = core.now() - r0
    if ok and type(res) == "string" then
      counts.skip = counts.skip + 1
      print(("skip %-75s %s"):format(row.id, res))
    elseif ok then
      counts.ok = counts.ok + 1
      print(("ok   %-75s %.1fs"):format(row.id, dt))
      if expected[row.id] then fixed[#fixed + 1] = row.id end
    else
      counts.fail = counts.fail + 1
      local msg = require("td.redact").text(tostring(res)):gsub("\n.*", "")
      print(("FAIL %-75s %s"):format(row.id, msg))
      if not expected[row.id] then surprises[#surprises + 1] = row.id .. ": " .. msg end
    end
    io.stdout:flush()
  end
end
t.stop_fake()
print(("\n%d rows: %d ok, %d failed, %d not reached, %.0fs"):format(
  counts.ok + counts.fail + counts.skip, counts.ok, counts.fail, counts.skip, core.now() - t0))
if #fixed > 0 then
  print("\nrows listed in tests/faults/expected.lua that now pass (remove them there):")
  for _, id in ipairs(fixed) do print("  " .. id) end
end
if #surprises > 0 then
  print("\nrows that fail and are not listed in tests/faults/expected.lua:")
  for _, s in ipairs(surprises) do print("  " .. s) end
end
os.exit(#surprises == 0 and 0 or 1, true)
