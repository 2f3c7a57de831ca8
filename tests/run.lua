-- tests/run.lua - run the whole suite (or the files given) inside tdlua.
--   ./tdlua tests/run.lua [tests/test_x.lua ...]
-- Prints one line per test and ends with "N passed, N failed".
package.path = "tests/lib/?.lua;" .. package.path
local t = require "testlib"
local redact = require "td.redact"

local files = {}
for i = 1, #arg do files[#files + 1] = arg[i] end
if #files == 0 then
  local p = io.popen("ls tests/test_*.lua")
  for line in p:lines() do files[#files + 1] = line end
  p:close()
end

local only = os.getenv("TEST_ONLY")
local passed, failed, failures = 0, 0, {}
for _, file in ipairs(files) do
  for k in pairs(t.tests) do t.tests[k] = nil end
  local chunk, lerr = loadfile(file)
  if not chunk then
    failed = failed + 1
    print("not ok - " .. file .. ": " .. lerr)
  else
    local ok, err = pcall(chunk)
    if not ok then
      failed = failed + 1
      print("not ok - " .. file .. ": " .. tostring(err))
    end
    for _, case in ipairs(t.tests) do
      if not only or case.name:find(only, 1, true) then
        local ok2, e = xpcall(case.fn, function(m)
          local msg = type(m) == "table" and tostring(m) or tostring(m)
          return debug.traceback(msg, 2)
        end)
        -- the fake server checks every request against TD's API descriptions
        local bad = t.contract_violations()
        if #bad > 0 then
          local lines = { "requests that break TD's API description (tests/fake_td/deviations.yml):" }
          for _, v in ipairs(bad) do
            for _, m in ipairs(v.violations) do lines[#lines + 1] = "  " .. m end
          end
          e = (ok2 and "" or tostring(e) .. "\n") .. table.concat(lines, "\n")
          ok2 = false
        end
        local name = file:match("([^/]+)%.lua$") .. ": " .. case.name
        if ok2 then
          passed = passed + 1
          print(("ok %d - %s"):format(passed + failed, name))
        else
          failed = failed + 1
          local msg = redact.text(tostring(e))
          print(("not ok %d - %s"):format(passed + failed, name))
          failures[#failures + 1] = name .. "\n    " .. msg:gsub("\n", "\n    ")
        end
      end
    end
  end
end
t.stop_fake()
if #failures > 0 then
  print("\nFailures:")
  for _, f in ipairs(failures) do print("- " .. f) end
  print()
end
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1, true) -- close the state: leak checkers see everything freed
