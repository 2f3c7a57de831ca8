-- the secrets sweep, last in the suite: the suite runs with a distinctive
-- key (testlib.KEY); no 8-character piece of it may appear in anything the
-- suite's tdlua processes wrote: their captured stdout and stderr, the
-- files they wrote (downloads, journals, logs, histories, traces under the
-- suite's directory) and the fake server's own log
local t = require "testlib"

local function pieces(key)
  local out = {}
  for i = 1, #key - 7 do out[#out + 1] = key:sub(i, i + 7) end
  return out
end

t.test("no piece of the API key in any output, file, history or log of the suite", function()
  local dir = t.fake().dir
  local p = io.popen("find " .. t.sh_quote(dir) .. " -type f 2>/dev/null")
  local files = {}
  for f in p:lines() do
    -- run.in is the stdin a test hands a child (its input, not its output)
    if not f:find("/run%.in$") then files[#files + 1] = f end
  end
  p:close()
  local keys = pieces(t.KEY)
  local leaks = {}
  for _, f in ipairs(files) do
    local s = t.slurp(f) or ""
    for _, k in ipairs(keys) do
      local at = s:find(k, 1, true)
      if at then
        leaks[#leaks + 1] = ("%s at byte %d: ...%s..."):format(f:sub(#dir + 2), at,
          (s:sub(math.max(1, at - 30), at + 40):gsub(k, "<KEY PIECE>"):gsub("%c", " ")))
        break
      end
    end
  end
  t.ok(#files > 0, "files to scan")
  if #leaks > 0 then error("the key leaked into:\n  " .. table.concat(leaks, "\n  "), 0) end
  -- the figures for docs/reliability.md
  local c = require("td.http").request(t.client(), { path = "/__fake/contract", auth = false })
  print(("# secrets sweep: %d files scanned; %d requests checked against TD's API descriptions"):format(
    #files, c.checked or 0))
end)
