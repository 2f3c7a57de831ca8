-- Redaction (td.redact.text): a known key, put into the input at any
-- place in any of the encodings TD, servers and libraries echo it in, never
-- survives. Byte 1 picks the encoding, byte 2 the place.
local redact = require "td.redact"
local errors = require "td.errors"

local KEY = "4711/c0ffee00deadbeef0123456789abcdef01234567"
local SECRET = KEY:match("/(.+)$")
redact.add(KEY)

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s, url)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for j = 1, 4 do
      local k = (n >> (6 * (4 - j))) & 63
      q[j] = B64:sub(k + 1, k + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  local r = table.concat(out)
  if url then r = r:gsub("+", "-"):gsub("/", "_") end
  return r
end

local function urlenc(s, lower)
  return (s:gsub("[^%w%-%._~]", function(ch)
    local h = ("%%%02X"):format(ch:byte())
    return lower and h:lower() or h
  end))
end

local ENCODINGS = {
  function(k) return k end,
  function(k) return SECRET end,
  function(k) return urlenc(k) end,
  function(k) return urlenc(k, true) end,
  function(k) return (k:gsub("/", "\\/")) end,
  function(k) return k:upper() end,
  function(k) return "TD1 " .. k end,
  function(k) return "apikey=" .. urlenc(k) .. "&x=1" end,
}

local function bug(msg) errors.raise { kind = "fuzz", message = "BUG: " .. msg } end

return function(data)
  if #data < 2 then return end
  local enc = data:byte(1)
  local at = data:byte(2) % (#data - 1) + 1
  local rest = data:sub(3)
  local pre, post = rest:sub(1, at - 1), rest:sub(at)
  local n = #ENCODINGS + 2
  local choice = enc % n + 1
  local s, probe
  if choice <= #ENCODINGS then
    s = pre .. ENCODINGS[choice](KEY) .. post
  else -- base64 of text that holds the key, standard or URL-safe alphabet
    local url = choice == n
    local plain = pre .. KEY .. post
    s = pre:sub(1, 4) .. base64(plain, url) .. post:sub(1, 4)
    -- the characters that encode the key's own bytes (all of them) at this
    -- alignment: a shorter probe would also match a piece of the key the
    -- input happens to hold, which is not the key
    local a = #pre % 3
    local whole = base64(("\0"):rep(a) .. KEY, url):gsub("=+$", "")
    local total = a + #KEY
    local keep = (total // 3) * 4 + ({ [0] = 0, 1, 2 })[total % 3]
    probe = whole:sub(({ [0] = 1, 3, 4 })[a], keep)
  end
  local out = redact.text(s)
  if type(out) ~= "string" then bug("redact.text returned " .. type(out)) end
  -- the secret part as the chosen encoding writes it (case-sensitively: a
  -- copy of the key in another mix of cases that the input itself carries
  -- is not an encoding anything echoes)
  local written = choice == 6 and SECRET:upper() or SECRET
  if out:find(written, 1, true) then bug("the key survived redaction") end
  if probe and out:find(probe, 1, true) then bug("the key survived redaction in base64") end
end
