-- generated documentation (scripts/gendocs.lua, `make docs`) and td.help
local t = require "testlib"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like

local bin = os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"

test("the generated reference, help data, annotations and man page are up to date", function()
  local code, out, err = t.run("scripts/gendocs.lua --check", { TDLUA_LUA_DIR = "./lua", TDLUA_BIN = bin })
  eq(code, 0, "run `make docs`: " .. err .. out)
end)

test("a public function without a doc comment fails the check, naming it", function()
  local code, _, err = t.run("-e " .. t.sh_quote('require("td.client").extend { undocumented_thing = function() end }')
    .. " scripts/gendocs.lua --check", { TDLUA_LUA_DIR = "./lua", TDLUA_BIN = bin })
  ok(code ~= 0, "the check fails")
  like(err, "client:undocumented_thing")
end)

test("a declared operation missing from the coverage tables fails the check", function()
  local code, _, err = t.run("-e " .. t.sh_quote('require("td.ops").define({}, "v3.test", {{ name = "bogus_op", method = "POST", path = "/v3/bogus/{x}", args = {{ "x", "name", "x" }}, doc = "x" }})')
    .. " scripts/gendocs.lua --check", { TDLUA_LUA_DIR = "./lua", TDLUA_BIN = bin })
  ok(code ~= 0, "the check fails")
  like(err, "client:bogus_op: POST /v3/bogus/{} has no row")
end)

test("td.help: lookup by name, by function value and by topic; text; topics", function()
  local help = require "td.help"
  local e = help.lookup("client:databases")
  ok(e, "client:databases has an entry")
  eq(e.signature, "client:databases()")
  like(e.doc, "GET /v3/database/list")
  local q = help.lookup("td.query")
  ok(q and q.signature:match("^td%.query"), "td.query")
  eq(help.lookup(td.query), q, "the function value finds the same entry")
  local c = t.client()
  eq(help.lookup(c.create_database).name, "client:create_database")
  local w = help.lookup("job:wait")
  ok(w and #w.options >= 1, "job:wait lists its options")
  ok(help.lookup("attempt:retry"), "attempt:retry")
  ok(help.lookup("client.workflow:pools"), "client.workflow:pools")
  local cd = help.lookup("create_database")
  eq(cd.options[2].name, "if_not_exists")
  local topics = help.topics()
  ok(#topics > 5)
  local attempts = help.lookup("attempts")
  ok(attempts and attempts.topic, "a topic")
  like(help.text("attempts"), "attempt:retry")
  like(help.text("client:create_database"), "options:\n  description")
  like(help.text("no_such_thing"), "^no help for")
end)

test("td.help(x) prints on stdout", function()
  local code, out, err = t.run("-e " .. t.sh_quote('td.help("client:tables")'), { TDLUA_LUA_DIR = "./lua" })
  eq(code, 0, err)
  like(out, "^client:tables%(db%)")
  like(out, "returns: array of tables")
end)

test("the man page describes the host's flags", function()
  local man = t.slurp("docs/tdlua.1")
  like(man, "^%.\\\" generated")
  like(man, "\\%-\\%-dry\\%-run")
  like(man, "TD_API_KEY")
end)

test("make install puts the man page beside the binary and the module", function()
  local dir = t.fake().dir .. "/inst"
  local log = dir .. ".log"
  local _, _, code = os.execute(("make -s install DESTDIR=%s PREFIX=/usr >%s 2>&1"):format(t.sh_quote(dir), t.sh_quote(log)))
  eq(code, 0, t.slurp(log))
  ok(t.exists(dir .. "/usr/share/man/man1/tdlua.1"), "man page installed")
  ok(t.exists(dir .. "/usr/bin/tdlua"), "binary installed")
  ok(t.exists(dir .. "/usr/share/lua/5.4/td/help_data.lua"), "help data installed with the module")
end)

test("the LuaCATS annotations compile and declare the classes", function()
  ok(loadfile("types/td.lua"), "types/td.lua is valid Lua")
  local text = t.slurp("types/td.lua")
  for _, cls in ipairs { "td", "td.Client", "td.WorkflowClient", "td.Job", "td.Attempt", "td.Project" } do
    like(text, "\n%-%-%-@class " .. cls:gsub("%.", "%%.") .. "\n")
  end
  like(text, "\nfunction Client:create_database%(name, opts%) end\n")
  like(text, "%-%-%-@param opts%? {description%?: string, if_not_exists%?: boolean}")
end)
