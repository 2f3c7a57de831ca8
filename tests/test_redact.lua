-- redaction: every key the process knows, in every encoding, on every path out
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like
local q = t.sh_quote

local redact = require "td.redact"

-- a key not shaped like TD's, and the TD-shaped test key
local ODD_KEY = "zz-Odd+Key/with=chars-9"
local HEX = t.KEY:sub(3) -- the bare secret part of the TD-shaped key

local function urlenc(s, lower)
  return (s:gsub("[^%w%-_%.~]", function(c) return (lower and "%%%02x" or "%%%02X"):format(c:byte()) end))
end

-- every encoding a server (or a library) may echo a key in
local function encodings(key)
  local bare = key:match("^%d+/(.+)$")
  local out = {
    verbatim = key,
    url_upper = urlenc(key),
    url_lower = urlenc(key, true),
    json = key:gsub("/", "\\/"),
    basic = redact.base64("user:" .. key),
    basic2 = redact.base64("me:" .. key),
    basic3 = redact.base64("ab:" .. key),
    bare_b64 = redact.base64(key),
  }
  if bare then out.bare = bare end
  return out
end

-- the parts of a key that must never be seen (its secret, and long pieces of it)
local function leaks(s, key)
  if type(s) ~= "string" then return nil end
  local secret = key:match("^%d+/(.+)$") or key
  for _, needle in pairs(encodings(key)) do
    if s:find(needle, 1, true) then return needle end
  end
  -- any 12-character piece of the secret (a partial mask is a leak too)
  for i = 3, #secret - 11 do
    if s:find(secret:sub(i, i + 11), 1, true) then return secret:sub(i, i + 11) end
  end
  return nil
end

local function no_leak(s, key, where)
  local l = leaks(s, key)
  ok(not l, ("%s shows the key (%q) in %q"):format(where, tostring(l), tostring(s)))
end

test("a registered key is masked verbatim, bare, URL-encoded, JSON-escaped, upper-cased and in base64", function()
  redact.add(t.KEY)
  redact.add(ODD_KEY)
  for _, key in ipairs { t.KEY, ODD_KEY } do
    for name, enc in pairs(encodings(key)) do
      local s = ("before %s after"):format(enc)
      no_leak(redact.text(s), key, name)
      like(redact.text(s), "^before .*%*%*%*%*.* after$", name)
    end
    no_leak(redact.text("Authorization: Basic " .. redact.base64("u:" .. key)), key, "basic header")
    no_leak(redact.text(key:upper()), key, "upper-cased")
    -- cut short at the end of a text (an excerpt), with or without "..."
    for _, cut in ipairs { 8, 15, #key - 1 } do
      no_leak(redact.text("excerpt: " .. key:sub(1, cut) .. "..."), key, "cut at " .. cut)
      no_leak(redact.text("excerpt: " .. key:sub(1, cut)), key, "cut at " .. cut)
      no_leak(redact.text("excerpt: " .. redact.base64("u:" .. key):sub(1, cut + 4)), key, "base64 cut at " .. cut)
    end
  end
  -- what is not a secret stays readable
  eq(redact.text("SELECT 1 FROM web.pageviews WHERE a = 'b/c'"), "SELECT 1 FROM web.pageviews WHERE a = 'b/c'")
  -- a key-shaped token the process does not know, in its encodings
  local other = "9/" .. ("ab12"):rep(10)
  for _, enc in ipairs { other, "9%2F" .. other:sub(3), "9%2f" .. other:sub(3), "9\\/" .. other:sub(3) } do
    eq(redact.text(enc):find(other:sub(5), 1, true), nil, enc)
  end
end)

test("an error from a server that echoes the key in each encoding shows it nowhere", function()
  t.reset()
  local c = t.client()
  for name, enc in pairs(encodings(t.KEY)) do
    local body = ('{"error":"Unauthorized","message":"bad key %s","details":{"key":"%s"}}'):format(enc, enc)
    t.fault { path = "^/v3/database/list$", status = 401, body = body, times = 1,
      headers = { ["X-Request-Id"] = "req-" .. enc } }
    local ok_, e = pcall(c.databases, c)
    ok(not ok_, name)
    eq(e.kind, "auth")
    no_leak(e.message, t.KEY, name .. " message")
    no_leak(e.body, t.KEY, name .. " body")
    no_leak(e.request_id, t.KEY, name .. " request_id")
    no_leak(e.details and e.details.key, t.KEY, name .. " details")
    no_leak(tostring(e), t.KEY, name .. " tostring")
  end
  -- the server itself echoes the key it was sent, one encoding at a time and all at once
  for _, enc in ipairs { "verbatim", "bare", "url_upper", "url_lower", "json", "basic", "base64", false } do
    t.fault { path = "^/v3/database/list$", action = "echo_key", encoding = enc or nil, times = 1 }
    local ok_, e = pcall(c.databases, c)
    ok(not ok_)
    eq(e.kind, "auth")
    local where = "echo_key " .. tostring(enc)
    like(e.message, "the key .*%*%*%*%*.* is not valid", where)
    no_leak(e.message, t.KEY, where .. " message")
    no_leak(e.body, t.KEY, where .. " body")
    no_leak(e.request_id, t.KEY, where .. " request_id")
    no_leak(table.concat(e.details.keys, " "), t.KEY, where .. " details")
    no_leak(tostring(e), t.KEY, where .. " tostring")
  end
  -- a field added to the error later is masked as well
  local e = require("td.errors").new { kind = "x", message = "m" }
  e.extra = "see " .. t.KEY
  no_leak(e.extra, t.KEY, "a field set later")
end)

local function env_with(extra)
  local env = { TD_API_KEY = "", TREASURE_DATA_API_KEY = "", TD_CONFIG_PATH = "/nonexistent", TDLUA_HISTORY = "" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

test("the host's printing of an uncaught error masks keys from the environment, td.conf and clients", function()
  -- from the environment, raised as a plain string
  local code, out, err = t.run("-e " .. q([[error("boom " .. os.getenv("TD_API_KEY"))]]),
    env_with { TD_API_KEY = ODD_KEY })
  eq(code, 1)
  like(err, "boom zz%*%*%*%*")
  no_leak(err, ODD_KEY, "stderr")
  -- URL-encoded and in base64, with a traceback (--verbose)
  code, out, err = t.run("--verbose -e " .. q([[
    local k = os.getenv("TD_API_KEY")
    error(k:gsub("/", "%%2F") .. " " .. td.redact.base64("u:" .. k))]]), env_with { TD_API_KEY = t.KEY })
  eq(code, 1)
  like(err, "traceback")
  no_leak(err, t.KEY, "stderr (verbose)")
  -- from td.conf, never used by a client
  local conf = t.write_tmp("[account]\napikey = " .. ODD_KEY .. "\n")
  code, out, err = t.run("-e " .. q(([[
    td.config()
    local f = io.open(%q) local s = f:read("a") f:close()
    error(s)]]):format(conf)), env_with { TD_CONFIG_PATH = conf })
  os.remove(conf)
  eq(code, 1)
  no_leak(err, ODD_KEY, "stderr (td.conf)")
  -- from a client, raised as a table without __tostring, and from a syntax error
  code, out, err = t.run("-e " .. q(([[
    local c = td.client { apikey = %q }
    print(c, c:config().apikey)
    load("x = = " .. %q)
    error(%q .. " at the end")]]):format(ODD_KEY, ODD_KEY, ODD_KEY)), env_with())
  eq(code, 1)
  no_leak(out, ODD_KEY, "stdout")
  no_leak(err, ODD_KEY, "stderr (client)")
end)

test("traces, logs and dry-run lines mask the key in every encoding", function()
  local f = t.fake()
  local code, out, err = t.run("--verbose --dry-run -e " .. q(([[
    local key = %q
    local c = td.client { endpoint = %q, apikey = key }
    pcall(c.request, c, "GET", "/v3/system/server_status", { query = { echo = key } })
    td.log.info("key %%s / %%s / %%s", key, (key:gsub("/", "%%%%2F")), td.redact.base64(key))
    td.log.warn("bare %%s", key:sub(3))
    c:request("POST", "/v3/table/create/db/t", { form = { key = key, other = key:gsub("/", "\\/") } })
    print("done")]]):format(t.KEY, f.url)), env_with())
  eq(code, 0, err)
  eq(out, "done\n")
  like(err, "INFO ")
  like(err, "dry%-run")
  no_leak(err, t.KEY, "stderr")
end)

test("REPL history keeps no key: one not shaped like TD's introduced before use, nor a bare secret", function()
  local hist = os.tmpname()
  local input = table.concat({
    ('k = "%s"'):format(ODD_KEY),                     -- introduced, not yet known as a key
    "c = td.client { apikey = k }",                   -- now it is
    ('h = "%s"'):format(HEX),                         -- the bare 40-hex part of a TD key
    ('td.client { apikey = "%s" }'):format("1/" .. HEX),
    ('local password = [[hunter2-long-pw]]'),
    "x = 1",
  }, "\n") .. "\n"
  local code = t.run("-i", env_with { TDLUA_HISTORY = hist }, input)
  eq(code, 0)
  local s = (t.slurp(hist) or ""):gsub("\\040", " ")
  os.remove(hist)
  like(s, "x = 1")
  like(s, "c = td%.client")
  no_leak(s, ODD_KEY, "history")
  no_leak(s, t.KEY, "history")
  eq(s:find("hunter2-long-pw", 1, true), nil, "a password literal")
  -- the Lua function the REPL uses
  like(redact.history('apikey = "abcdefgh12345"'), '^apikey = "ab%*%*%*%*"$')
  eq(redact.history("print(1 + 2)"), "print(1 + 2)")
end)

test("a workflow secret's value, once set, is masked like a key", function()
  t.reset()
  local c = t.client { workflow_endpoint = t.fake().url }
  local value = "xoxb-" .. ("9z"):rep(8)
  c.workflow:set_secret("etl", "slack.token", value)
  eq(redact.text("token " .. value):find(value, 1, true), nil)
  eq(redact.text(redact.base64(value)):find(redact.base64(value):sub(1, 12), 1, true), nil)
end)
