-- configuration resolution, regions, endpoints and redaction
local t = require "testlib"
local test, eq, like, raises_kind = t.test, t.eq, t.like, t.raises_kind
local config = require "td.config"

local tmpfile = t.write_tmp

test("explicit options win over everything", function()
  local c = config.resolve { apikey = "1/aaaa", endpoint = "api.example.com", config_path = "/nonexistent" }
  eq(c.apikey, "1/aaaa")
  eq(c.endpoint, "https://api.example.com")
  eq(c.sources.apikey, "option apikey")
  eq(c.sources.endpoint, "option endpoint")
end)

test("regions map to core and workflow endpoints", function()
  for region, want in pairs {
    us = { "https://api.treasuredata.com", "https://api-workflow.treasuredata.com" },
    jp = { "https://api.treasuredata.co.jp", "https://api-workflow.treasuredata.co.jp" },
    tokyo = { "https://api.treasuredata.co.jp", "https://api-workflow.treasuredata.co.jp" },
    eu01 = { "https://api.eu01.treasuredata.com", "https://api-workflow.eu01.treasuredata.com" },
    ap02 = { "https://api.ap02.treasuredata.com", "https://api-workflow.ap02.treasuredata.com" },
    ap03 = { "https://api.ap03.treasuredata.com", "https://api-workflow.ap03.treasuredata.com" },
  } do
    local c = config.resolve { region = region, config_path = "/nonexistent" }
    eq(c.endpoint, want[1], region)
    eq(c.workflow_endpoint, want[2], region)
  end
end)

test("unknown region is a config error naming the known ones", function()
  local e = raises_kind("config", config.resolve, { region = "mars", config_path = "/nonexistent" })
  like(e.message, "mars")
  like(e.message, "eu01")
end)

test("workflow endpoint is derived like the td CLI does", function()
  eq(config.derive_workflow("https://api.eu01.treasuredata.com"), "https://api-workflow.eu01.treasuredata.com")
  eq(config.derive_workflow("https://api-staging.treasuredata.co.jp"), "https://api-staging-workflow.treasuredata.co.jp")
  eq(config.derive_workflow("https://api.connect.ap02.treasuredata.com"), "https://api-workflow.connect.ap02.treasuredata.com")
  eq(config.derive_workflow("https://example.com"), nil)
  eq(config.derive_workflow("http://127.0.0.1:8080"), "http://127.0.0.1:8080")
end)

test("plain http is refused for non-loopback hosts unless insecure_http", function()
  local e = raises_kind("config", config.resolve, { endpoint = "http://api.example.com", config_path = "/nonexistent" })
  like(e.message, "unencrypted")
  eq(config.resolve { endpoint = "http://api.example.com", insecure_http = true, config_path = "/nonexistent" }.endpoint,
    "http://api.example.com")
  eq(config.resolve { endpoint = "http://127.0.0.1:9/", config_path = "/nonexistent" }.endpoint, "http://127.0.0.1:9")
  raises_kind("config", config.resolve, { endpoint = "ftp://x", config_path = "/nonexistent" })
end)

test("td.conf is read in the td CLI's format", function()
  local p = tmpfile("# comment\n[account]\n  user = me@example.com\n  apikey = 7/abcdef\n  endpoint = https://api.treasuredata.co.jp/\n")
  local c = config.resolve { config_path = p }
  os.remove(p)
  eq(c.apikey, "7/abcdef")
  eq(c.endpoint, "https://api.treasuredata.co.jp")
  eq(c.workflow_endpoint, "https://api-workflow.treasuredata.co.jp")
  eq(c.user, "me@example.com")
  eq(c.region, "jp")
end)

test("a malformed td.conf line is a config error with the line number", function()
  local p = tmpfile("[account]\napikey = 1/x\nthis is not valid\n")
  local e = raises_kind("config", config.resolve, { config_path = p })
  os.remove(p)
  like(e.message, ":3: invalid config line")
end)

test("environment beats td.conf; options beat environment (child process)", function()
  local p = tmpfile("[account]\napikey = 9/fromconf\nendpoint = api.eu01.treasuredata.com\n")
  local code, out = t.run("-e " .. t.sh_quote([[
    local c = td.config()
    print(c.apikey, c.sources.apikey, c.endpoint, c.sources.endpoint)
    local d = td.config{ apikey = "3/fromopt", endpoint = "api.treasuredata.co.jp" }
    print(d.apikey, d.sources.apikey, d.endpoint)]]),
    { TD_CONFIG_PATH = p, TD_API_KEY = "5/fromenvxyz", TD_API_SERVER = "" })
  os.remove(p)
  eq(code, 0)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  eq(lines[1], "5/fr****\tTD_API_KEY\thttps://api.eu01.treasuredata.com\t" .. p)
  eq(lines[2], "3/fr****\toption apikey\thttps://api.treasuredata.co.jp")
end)

test("TREASURE_DATA_API_KEY is accepted too", function()
  local code, out = t.run("-e " .. t.sh_quote("print(td.config().sources.apikey)"),
    { TD_API_KEY = "", TREASURE_DATA_API_KEY = "4/abcdefgh", TD_CONFIG_PATH = "/nonexistent" })
  eq(code, 0)
  eq(out, "TREASURE_DATA_API_KEY\n")
end)

test("a missing key raises a config error saying how to set one", function()
  local code, out, err = t.run("-e " .. t.sh_quote("td.databases()"),
    { TD_API_KEY = "", TREASURE_DATA_API_KEY = "", TD_CONFIG_PATH = "/nonexistent", TD_API_SERVER = "http://127.0.0.1:9" })
  eq(code, 1)
  eq(out, "")
  like(err, "^tdlua: config: no TD API key configured")
  like(err, "TD_API_KEY")
  eq(select(2, err:gsub("\n", "")), 1, "one line")
end)

test("td.client rejects unknown options and bad types, naming them", function()
  like(t.raises_kind("usage", td.client, { apikey = "1/x", retries = 3 }).message, "retries")
  like(t.raises_kind("usage", td.client, "1/abc").message, "opts")
  like(t.raises_kind("usage", td.client, { apikey = "1/x", timeout = "soon" }).message, "timeout")
end)

test("redaction masks the credentials of pre-signed URLs, keeping the rest", function()
  local redact = require "td.redact"
  eq(redact.text("GET https://s3.example/a.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261122"
      .. "&X-Amz-Signature=d7988f23&X-Amz-Expires=300 -> 200"),
    "GET https://s3.example/a.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=****"
      .. "&X-Amz-Signature=****&X-Amz-Expires=300 -> 200")
  eq(redact.text("https://x/y?sig=abc&size=3"), "https://x/y?sig=****&size=3")
  eq(redact.text("a plain sentence = fine"), "a plain sentence = fine")
end)

test("--verbose traces of a project download and of logs show no URL credentials", function()
  t.reset()
  local f = t.fake()
  local dir = f.dir .. "/dl-trace"
  local code, _, err = t.run("--verbose -e " .. t.sh_quote(([[
    local wf = td.client().workflow
    wf:project("etl"):download(%q)
    wf:attempt(7):logs()
  ]]):format(dir)), {
    TD_API_KEY = t.KEY, TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url, TD_CONFIG_PATH = "/nonexistent",
  })
  os.execute("rm -rf " .. t.sh_quote(dir))
  eq(code, 0, err)
  like(err, "/fake%-s3/[^\n]*X%-Amz%-Signature=%*%*%*%*")
  eq(err:find("X-Amz-Signature=%x"), nil, "a signature in the trace")
  eq(err:find(t.KEY:sub(3), 1, true), nil, "the key in the trace")
end)

test("redaction masks registered keys and key-shaped strings", function()
  local redact = require "td.redact"
  eq(redact.key("1/abcdef"), "1/ab****")
  redact.add("42/secretsecret")
  eq(redact.text("key=42/secretsecret!"), "key=42/se****!")
  eq(redact.text("x " .. t.KEY .. " y"), "x 1/d4**** y")
  local c = td.client { apikey = "77/zzzzzzzzzz", config_path = "/nonexistent" }
  like(tostring(c), "77/zz%*%*%*%*")
  eq(tostring(c):find("zzzzzzzzzz", 1, true), nil)
  eq(require("td.pretty").format(c):find("zzzzzzzzzz", 1, true), nil)
  for k, v in pairs(c) do
    eq(tostring(v):find("zzzzzzzzzz", 1, true), nil, "field " .. tostring(k))
  end
end)
