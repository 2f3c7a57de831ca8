--- td.redact: the one place where secrets are masked.
-- Every string that may reach a person (error messages and fields, traces,
-- logs, dry-run lines, the host's printing of uncaught errors, REPL
-- history, td.config()) passes through `redact.text`. Every secret the
-- process knows is registered with `redact.add`: the API key from the
-- environment (at load), from td.conf and from every client (when it is
-- created), passwords and keys handed to API calls. A registered secret is
-- masked in every encoding a server or a library may echo it in: verbatim,
-- its bare secret part (the key without its `<account>/` prefix), URL-encoded
-- (upper- and lower-case escapes, `+` for spaces), JSON-escaped (`\/`),
-- upper-cased, and base64 (standard and URL-safe alphabets, at each of the
-- three alignments, as inside an HTTP basic-auth header). Unknown strings
-- shaped like a TD API key (`<account>/<40 hex>`, also URL-encoded or
-- JSON-escaped) are masked too, and so are the credentials of pre-signed URLs
-- (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Signature, ...),
-- which work as passwords until they expire.
local M = {}

local gsub, find, fmt, byte = string.gsub, string.find, string.format, string.byte

-- every form of every known secret: { text =, mask = }, longest text first
local forms = {}
local seen = {}    -- text -> true (dedup of forms)
local secrets = {} -- secret -> true

--- Mask one key for display: "1/abcdef..." -> "1/ab****".
-- key(s) -> string, or nil for a non-string or empty s.
function M.key(key)
  if type(key) ~= "string" or key == "" then return nil end
  local acct, secret = key:match("^(%d+)/(.+)$")
  if acct then return acct .. "/" .. secret:sub(1, 2) .. "****" end
  return key:sub(1, 2) .. "****"
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k = #out
    out[k + 1] = B64:sub((n >> 18) + 1, (n >> 18) + 1)
    out[k + 2] = B64:sub(((n >> 12) & 63) + 1, ((n >> 12) & 63) + 1)
    out[k + 3] = b and B64:sub(((n >> 6) & 63) + 1, ((n >> 6) & 63) + 1) or "="
    out[k + 4] = c and B64:sub((n & 63) + 1, (n & 63) + 1) or "="
  end
  return table.concat(out)
end
M.base64 = base64

-- The base64 characters that depend on the secret's bytes only, when the
-- secret starts `shift` bytes into a 3-byte group of a longer text (so that
-- "user:KEY" encoded in a Basic header is found whatever the user's length).
local function base64_core(s, shift)
  local enc = base64(("\0"):rep(shift) .. s):gsub("=+$", "")
  local skip = ({ [0] = 0, [1] = 2, [2] = 3 })[shift]
  local total = shift + #s
  -- characters covering only the secret: drop one that mixes its last
  -- bytes with what follows
  local full = (total // 3) * 4
  local rest = total % 3
  local keep = full + (rest == 1 and 1 or rest == 2 and 2 or 0)
  return enc:sub(skip + 1, keep)
end

local function url_escape(s, lower, plus)
  local f = lower and "%%%02x" or "%%%02X"
  return (s:gsub("[^%w%-_%.~ ]", function(c) return fmt(f, byte(c)) end)
    :gsub(" ", plus and "+" or (lower and "%%20" or "%%20")))
end

local function json_escape(s)
  return (s:gsub('[\\"/]', { ["\\"] = "\\\\", ['"'] = '\\"', ["/"] = "\\/" }))
end

-- the shortest derived form masked (a bare part or an encoding shorter
-- than this would mask ordinary words: the secret of "7/abcdef")
local MIN_FORM = 8

local function add_form(text, mask, min)
  if text == nil or #text < (min or MIN_FORM) or seen[text] then return end
  seen[text] = true
  forms[#forms + 1] = { text = text, mask = mask }
end

local generation = 0

--- How many secrets have been registered so far (a new one changes it, so
-- text kept from before can be masked again).
function M.generation() return generation end

--- Remember a secret so that redact.text masks it in every encoding.
-- add(secret): strings shorter than 6 characters and non-strings are
-- ignored (they would mask ordinary words). Returns nothing.
function M.add(secret)
  if type(secret) ~= "string" or #secret < 6 or secrets[secret] then return end
  secrets[secret] = true
  generation = generation + 1
  local shown = M.key(secret)
  local variants = { secret }
  local acct, bare = secret:match("^(%d+)/(.+)$")
  if bare and #bare >= MIN_FORM then variants[#variants + 1] = bare end
  for _, v in ipairs { table.unpack(variants) } do
    local m = (v == secret) and shown or (v:sub(1, 2) .. "****")
    add_form(v, m, v == secret and 6 or nil)
    add_form(v:upper(), m)
    add_form(v:lower(), m)
    add_form(url_escape(v, false, false), m)
    add_form(url_escape(v, true, false), m)
    add_form(url_escape(v, false, true), m)
    add_form(url_escape(v, true, true), m)
    add_form(json_escape(v), m)
    for shift = 0, 2 do
      local core = base64_core(v, shift)
      if #core >= 8 then
        add_form(core, "****")
        add_form((core:gsub("[+/]", { ["+"] = "-", ["/"] = "_" })), "****")
      end
    end
  end
  if acct then
    -- "1/abc" with the slash escaped in JSON and URL-encoded (any case)
    add_form(acct .. "\\/" .. bare, shown)
  end
  table.sort(forms, function(a, b) return #a.text > #b.text end)
end

--- Whether a string is a registered secret.
function M.known(s) return secrets[s] == true end

local HEX40 = ("%x"):rep(40)
-- key-shaped tokens whatever the key: plain, URL-encoded "/", JSON "\/"
local KEY_SHAPES = { "(%d+)/(" .. HEX40 .. ")", "(%d+)%%2[fF](" .. HEX40 .. ")", "(%d+)\\/(" .. HEX40 .. ")" }

-- query parameters whose values are credentials (compared lower-cased)
local URL_SECRETS = {
  ["x-amz-signature"] = true, ["x-amz-credential"] = true, ["x-amz-security-token"] = true,
  ["signature"] = true, ["sig"] = true, ["x-goog-signature"] = true, ["x-goog-credential"] = true,
  ["access_token"] = true, ["token"] = true, ["apikey"] = true, ["api_key"] = true,
}

local function mask_param(sep, name, value)
  if URL_SECRETS[name:lower()] and value ~= "" then return sep .. name .. "=****" end
  return nil
end

local function mask_key(acct, secret)
  return acct .. "/" .. secret:sub(1, 2) .. "****"
end

-- the shortest piece of a secret worth masking when a text was cut short
local MIN_CUT = 8

-- A secret cut short at the end of a text (an excerpt or a message
-- truncated before it got here, with or without a trailing "..."): the
-- piece of the secret that is left is masked too.
local function mask_cut(s)
  local core, tail = s, ""
  if s:sub(-3) == "..." then core, tail = s:sub(1, -4), "..." end
  for k = 1, #forms do
    local f = forms[k]
    local head = f.text:sub(1, MIN_CUT)
    local i = find(core, head, math.max(1, #core - #f.text + 2), true)
    while i do
      local rest = core:sub(i)
      if #rest < #f.text and f.text:sub(1, #rest) == rest then
        return core:sub(1, i - 1) .. f.mask .. tail
      end
      i = find(core, head, i + 1, true)
    end
  end
  return s
end

--- Mask every known secret (in each of its encodings), key-shaped token and
-- URL credential in s, and the piece of a secret left at the end of a text
-- that was cut short. text(s) -> the masked string; a non-string is
-- returned as it is.
function M.text(s)
  if type(s) ~= "string" then return s end
  for k = 1, #forms do
    local f = forms[k]
    local i = find(s, f.text, 1, true)
    while i do
      s = s:sub(1, i - 1) .. f.mask .. s:sub(i + #f.text)
      i = find(s, f.text, i + #f.mask, true)
    end
  end
  if #forms > 0 then s = mask_cut(s) end
  if #s >= 40 then
    for _, shape in ipairs(KEY_SHAPES) do s = gsub(s, shape, mask_key) end
  end
  if find(s, "=", 1, true) then
    s = gsub(s, "([?&])([%w_%-%.]+)=([^&%s\"'<>]*)", mask_param)
  end
  return s
end

--- Mask the strings inside a table (an error's fields, a decoded body), in
-- place and recursively (depth-bounded). value(v) -> v with strings masked.
function M.value(v, depth)
  if type(v) == "string" then return M.text(v) end
  if type(v) ~= "table" or (depth or 0) > 8 or getmetatable(v) then return v end
  for k, x in pairs(v) do
    if type(x) == "string" or type(x) == "table" then v[k] = M.value(x, (depth or 0) + 1) end
  end
  return v
end

-- names under which a literal is a secret in a typed line of Lua
local SECRET_NAME = "[%w_]*[kK][eE][yY]"
local SECRET_NAMES = { SECRET_NAME, "[%w_]*[pP][aA][sS][sS][wW]?[oO]?[rR]?[dD]?[%w_]*",
  "[%w_]*[sS][eE][cC][rR][eE][tT][%w_]*", "[%w_]*[tT][oO][kK][eE][nN][%w_]*" }

--- Redact one line of REPL history before it is kept or saved: everything
-- redact.text masks, plus what a line may introduce before the process
-- knows it as a secret: a string literal assigned to a name that says key,
-- password, secret or token (`apikey = "..."`, `k.password = '...'`) and
-- any run of 40 hex digits (the secret part of a TD key).
-- history(line) -> the masked line.
function M.history(line)
  if type(line) ~= "string" then return line end
  line = M.text(line)
  for _, name in ipairs(SECRET_NAMES) do
    line = gsub(line, "(" .. name .. "%s*=%s*)([\"'])(.-)%2", function(lhs, q, lit)
      if lit == "" then return nil end
      return lhs .. q .. M.key(lit) .. q
    end)
    line = gsub(line, "(" .. name .. "%s*=%s*)%[(=*)%[(.-)%]%2%]", function(lhs, eqs, lit)
      return lhs .. "[" .. eqs .. "[" .. (M.key(lit) or "") .. "]" .. eqs .. "]"
    end)
  end
  line = gsub(line, "%x+", function(h)
    if #h >= 32 then return h:sub(1, 2) .. "****" end
  end)
  return line
end

-- the keys the process knows from its environment
for _, name in ipairs { "TD_API_KEY", "TREASURE_DATA_API_KEY" } do
  local v = os.getenv(name)
  if v and v ~= "" then M.add((v:gsub("^TD1%s+", ""))) end
end

return M
