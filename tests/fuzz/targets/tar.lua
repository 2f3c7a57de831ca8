-- The tar reader and writer of project archives (td.workflow.tar): any
-- input is read or rejected with a structured error; what is read packs
-- and reads back to the same entries.
local tar = require "td.workflow.tar"
local errors = require "td.errors"

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i].name ~= b[i].name or a[i].data ~= b[i].data or a[i].type ~= b[i].type then return false end
  end
  return true
end

return function(data)
  local entries = tar.unpack(data)
  local files = {}
  for _, e in ipairs(entries) do
    if e.type == "file" and type(e.name) == "string" and e.name ~= "" and #e.name < 250 then
      files[#files + 1] = { name = e.name, data = e.data or "", type = "file" }
    end
  end
  local ok, packed = pcall(tar.pack, files)
  if not ok then return end -- names the writer refuses (usage errors) are fine
  local back = tar.unpack(packed)
  local again = {}
  for _, e in ipairs(back) do again[#again + 1] = { name = e.name, data = e.data or "", type = e.type } end
  if not same(files, again) then
    errors.raise { kind = "fuzz", message = "BUG: tar entries do not read back as packed" }
  end
end
