--- td.redact: the one place where secrets are masked.
-- Every string that may reach a person (error messages, traces, REPL
-- history, td.config()) passes through `redact.text`. Keys registered with
-- `redact.add` are masked wherever they appear, and so is anything shaped
-- like a TD API key (`<account>/<40 hex>`) and the credentials of
-- pre-signed URLs (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
-- Signature, ...), which work as passwords until they expire.
local M = {}

local known = {}   -- list of secrets, longest first
local gsub, find = string.gsub, string.find

--- Mask one key: "1/abcdef..." -> "1/ab****".
function M.key(key)
  if type(key) ~= "string" or key == "" then return nil end
  local acct, secret = key:match("^(%d+)/(.+)$")
  if acct then return acct .. "/" .. secret:sub(1, 2) .. "****" end
  return key:sub(1, 2) .. "****"
end

local function remember(secret)
  for _, s in ipairs(known) do if s == secret then return end end
  known[#known + 1] = secret
end

--- The other spellings a secret travels in: base64 of "<secret>:" (HTTP
-- basic authentication with the key as user name and no password, as
-- TD's Trino endpoint takes it) and of the bare secret.
local function encodings(secret)
  local b64 = require("td.v3.formats").base64
  return { b64(secret .. ":"), (b64(secret):gsub("=+$", "")) }
end

--- Remember a secret (and its encodings) so that redact.text masks it.
function M.add(secret)
  if type(secret) ~= "string" or #secret < 6 then return end
  remember(secret)
  for _, e in ipairs(encodings(secret)) do remember(e) end
  table.sort(known, function(a, b) return #a > #b end)
end

local KEY_SHAPE = "(%d+)/(" .. ("%x"):rep(40) .. ")"

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

--- Mask every known secret, key-shaped token and URL credential in s.
function M.text(s)
  if type(s) ~= "string" then return s end
  for _, secret in ipairs(known) do
    local i = find(s, secret, 1, true)
    while i do
      s = s:sub(1, i - 1) .. M.key(secret) .. s:sub(i + #secret)
      i = find(s, secret, i + 1, true)
    end
  end
  s = gsub(s, KEY_SHAPE, function(acct, secret)
    return acct .. "/" .. secret:sub(1, 2) .. "****"
  end)
  if find(s, "=", 1, true) then
    s = gsub(s, "([?&])([%w_%-%.]+)=([^&%s\"'<>]*)", mask_param)
  end
  return s
end

return M
