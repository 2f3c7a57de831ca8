-- the fuzz targets (tests/fuzz/targets) replayed on their seed corpora and
-- on every input a fuzzing run kept (tests/fuzz/regressions): each input is
-- handled or rejected with a structured error, never a runtime error or a
-- broken property ("BUG: ..."). `make fuzz` runs the targets under libFuzzer.
local t = require "testlib"
local test = t.test

local function files(dir)
  local out = {}
  local p = io.popen("ls " .. t.sh_quote(dir) .. " 2>/dev/null")
  for name in p:lines() do out[#out + 1] = dir .. "/" .. name end
  p:close()
  return out
end

local function structured(e)
  return type(e) == "table" and type(e.kind) == "string"
    and not tostring(e.message or ""):find("^BUG")
end

local targets = {}
for _, f in ipairs(files("tests/fuzz/targets")) do
  targets[#targets + 1] = f:match("([^/]+)%.lua$")
end

for _, name in ipairs(targets) do
  test(name .. ": the seed corpus and the kept inputs", function()
    local fn = dofile("tests/fuzz/targets/" .. name .. ".lua")
    local inputs = files("tests/fuzz/corpus/" .. name)
    for _, f in ipairs(files("tests/fuzz/regressions/" .. name)) do inputs[#inputs + 1] = f end
    t.ok(#inputs > 0, "a seed corpus")
    for _, f in ipairs(inputs) do
      local ok, e = pcall(fn, t.slurp(f))
      if not ok and not structured(e) then
        error(("%s: %s"):format(f, tostring(e)), 0)
      end
    end
  end)
end

-- found by fuzzing the tar reader: both inputs made unpack loop for ever
test("tar: a negative base-256 size is a bad archive, a pax record of length 0 ends the records", function()
  local tar = require "td.workflow.tar"
  local e = t.raises_kind("bad_archive", tar.unpack, t.slurp("tests/fuzz/regressions/tar/negative-size"))
  t.like(e.message, "bad size field")
  local entries = tar.unpack(t.slurp("tests/fuzz/regressions/tar/pax-zero-length"))
  t.eq(entries, {}, "the pax header's entry is not a file of its own")
end)
