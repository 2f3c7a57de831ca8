-- the REPL: driven through a pseudo-terminal (tests/lib/ptydrive.py) for
-- completion, help, Ctrl-C, Ctrl-D, multi-line input and history; printing
-- of each object kind and table fitting checked in process.
local t = require "testlib"
local cjson = require "cjson"
local pretty = require "td.pretty"
local test, eq, ok, like = t.test, t.eq, t.ok, t.like

local BIN = os.getenv("TDLUA_BIN") or arg[-1] or "./tdlua"
local PROMPT = "\n> $"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. t.sh_quote(d))
  return d
end

-- Run the REPL on a pseudo-terminal through the steps; returns the result
-- (segments: the text matched by each expect, output, raw, status).
local function drive(steps, opts)
  opts = opts or {}
  local f = t.fake()
  local home = opts.home or tmpdir()
  local env = {
    TD_API_SERVER = f.url, TD_WORKFLOW_SERVER = f.url, TD_API_KEY = t.KEY, TD_CONFIG_PATH = "/nonexistent",
    HOME = home, TDLUA_HISTORY = opts.history or "", TERM = "xterm", LC_ALL = "C.UTF-8", LANG = "C.UTF-8",
    NO_COLOR = "1",
  }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  if env.NO_COLOR == false then env.NO_COLOR = nil end
  local argv = { BIN }
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  local script = { argv = argv, env = env, cols = opts.cols or 160, rows = 50, steps = steps }
  local dir = tmpdir()
  local inp, out = dir .. "/script.json", dir .. "/result.json"
  local fh = assert(io.open(inp, "w"))
  fh:write(cjson.encode(script))
  fh:close()
  os.execute(("/usr/bin/python3 tests/lib/ptydrive.py %s %s"):format(t.sh_quote(inp), t.sh_quote(out)))
  local text = t.slurp(out)
  assert(text, "ptydrive wrote no result")
  local r = cjson.decode(text)
  os.execute("rm -rf " .. t.sh_quote(dir))
  if not opts.home then os.execute("rm -rf " .. t.sh_quote(home)) end
  if not r.ok and not opts.may_fail then error("pty: " .. tostring(r.error), 2) end
  return r
end

-- a Lua pattern as the equivalent Python regular expression (%d %s %w %a,
-- %-escapes, and the lazy ".-")
local function rx(p)
  local out, i = {}, 1
  while i <= #p do
    local c = p:sub(i, i)
    if c == "%" then
      local n = p:sub(i + 1, i + 1)
      out[#out + 1] = ({ d = "\\d", s = "\\s", w = "\\w", a = "[A-Za-z]" })[n] or ("\\" .. n)
      i = i + 2
    elseif c == "." and p:sub(i + 1, i + 1) == "-" then
      out[#out + 1] = ".*?"
      i = i + 2
    else
      out[#out + 1] = c:find("[{}|\\]") and ("\\" .. c) or c
      i = i + 1
    end
  end
  return table.concat(out)
end

local function send(s) return { send = s } end
local function ctrl_c_now() return { send = "\3", now = true } end
local function expect(p) return { expect = rx(p) } end
local function line(s) return { send = s .. "\r" } end

-- a stand-in for td.help with the agreed interface
local HELP_DOUBLE = [[package.loaded["td.help"] = { lookup = function(x) if x == "client:jobs" or x == "jobs" then return { name = "client:jobs", options = { { name = "status" }, { name = "slower_than" }, { name = "limit" } } } end end, text = function(x) return "client:jobs{status =, slower_than =, limit =} - the jobs, newest first (double)" end, topics = function() return { "jobs", "attempts" } end }]]

-- ---------------------------------------------------------------------------
-- through a terminal

test("banner, expressions, multi-line statements and _ on a terminal", function()
  local r = drive {
    expect(PROMPT),
    line("1+1"), expect("\n2" .. PROMPT),
    line("for i = 1, 2 do"), expect("\n>> $"),
    line("print('i', i)"), expect("\n>> $"),
    line("end"), expect("i\t1\ni\t2" .. PROMPT),
    line("_ * 10"), expect("\n20" .. PROMPT),
    line("local s = 'a' ..   -- an unfinished expression"), expect("\n>> $"),
    line("'b'; print(s)"), expect("\nab" .. PROMPT),
    send("\4"), { wait = true },
  }
  local banner = r.segments[1]
  like(banner, "^tdlua %d+%.%d+")
  like(banner, "endpoint http://127%.0%.0%.1:%d+")
  like(banner, "API key configured %(TD_API_KEY%)")
  like(banner, "help%(%)")
  eq(r.raw:find(t.KEY:sub(3), 1, true), nil, "the key never shows")
  eq(r.status, 0, "Ctrl-D quits with status 0")
end)

test("Ctrl-C at the prompt drops the line and keeps the session", function()
  local r = drive {
    expect(PROMPT),
    line("x = 7"), expect(PROMPT),
    send("this is not lua"), expect("not lua$"),
    send("\3"), expect(PROMPT),
    send("\3"), expect(PROMPT),
    line("x + 1"), expect("\n8" .. PROMPT),
    line("for i = 1, 3 do"), expect("\n>> $"),
    send("\3"), expect(PROMPT),
    line("x"), expect("\n7" .. PROMPT),
    send("\4"), { wait = true },
  }
  eq(r.status, 0)
  eq(r.output:find("syntax error", 1, true), nil, "the dropped lines never ran")
end)

test("Ctrl-C during a wait returns to the prompt and says the job keeps running", function()
  t.reset()
  local r = drive {
    expect(PROMPT),
    line([[j = td.query("SELECT 1 -- fake_stuck", { db = "web" })]]), expect(PROMPT),
    line("j:wait()"), expect("job %d+: running"),
    ctrl_c_now(), expect("interrupted; job (%d+) is still running in TD %(job:kill%(%) stops it%)" .. PROMPT),
    line("j.status, j:kill()"), expect("\n\"running\"\t\"running\"" .. PROMPT),
    send("\4"), { wait = true },
  }
  local id = r.segments[4]:match("interrupted; job (%d+)")
  ok(id, "the job id is named")
  like(r.segments[2], "j = td.query")
  eq(r.status, 0)
  eq(t.state().jobs and nil, nil)
end)

test("Ctrl-C during a plain Lua loop returns to the prompt", function()
  local r = drive {
    expect(PROMPT),
    line("n = 0; print('looping'); while true do n = n + 1 end"), expect("\nlooping\n"),
    ctrl_c_now(), expect("interrupted" .. PROMPT),
    line("n > 0"), expect("\ntrue" .. PROMPT),
    send("\4"), { wait = true },
  }
  eq(r.status, 0)
end)

test("history is written line by line with mode 0600 and keys masked; a kill loses nothing", function()
  local home = tmpdir()
  local hist = home .. "/hist"
  drive({
    expect(PROMPT),
    line("x = 42"), expect(PROMPT),
    line("k = '" .. t.KEY .. "'"), expect(PROMPT),
    { signal = "KILL" }, { wait = true },
  }, { history = hist, home = home })
  local s = assert(t.slurp(hist), "the history file exists")
  like(s, "^_HiStOrY_V2_\n")
  like(s, "\nx\\040=\\04042\n", "the line is there although the REPL was killed")
  eq(s:find(t.KEY:sub(3), 1, true), nil, "the key is masked")
  local p = io.popen("stat -c %a " .. t.sh_quote(hist))
  eq(p:read("l"), "600")
  p:close()
  -- the next session recalls it with the arrow keys
  local r = drive({
    expect(PROMPT),
    send("\27[A\27[A"), expect("x = 42$"), send("\r"), expect(PROMPT),
    line("x"), expect("\n42" .. PROMPT),
    send("\4"), { wait = true },
  }, { history = hist, home = home })
  eq(r.status, 0)
  os.execute("rm -rf " .. t.sh_quote(home))
end)

test("Tab completes globals, fields, methods through metatables, client methods and database names", function()
  t.reset()
  local r = drive {
    expect(PROMPT),
    line("c = td.client()"), expect(PROMPT),
    send("c:ta\t"), expect("table%s+table_distribution%s+tables%s+tail\n> c:ta$"), send("\21"),
    line("j = td.job(1018)"), expect(PROMPT),
    send("j:\t"), expect("\n> j:$"), send("\21"),
    send("c.workflow:att\t"), expect("c.workflow:attempt$"),
    send("\t"), expect("attempt%s+attempts\n> c.workflow:attempt$"), send("\21"),
    send("td.tables(\"\t"), expect("sample_datasets%s+web\n> td.tables%(\"$"), send("\21"),
    send("td.tables(\"sa\t"), expect("sample_datasets\"$"), send(")\r"), expect("www_access.-" .. PROMPT),
    send("td.pre\t"), expect("td.pretty$"), send("\21"),
    send("pri\t"), expect("print$"), send("(#td.VER\t"), expect("VERSION$"), send(" > 0)\r"), expect("\ntrue" .. PROMPT),
    send("(\"x\"):up\t"), expect("upper%($"), send(")\r"), expect("\n\"X\"" .. PROMPT),
    send("\4"), { wait = true },
  }
  like(r.segments[5], "wait")
  like(r.segments[5], "rows")
  like(r.segments[5], "download")
  like(r.segments[5], "kill")
  eq(r.segments[5]:find("job_id", 1, true), nil, "after ':' only methods")
end)

test("Tab completes option names inside a call's table from td.help", function()
  t.reset()
  local r = drive {
    expect(PROMPT),
    line(HELP_DOUBLE), expect(PROMPT),
    line("c = td.client()"), expect(PROMPT),
    send("c:jobs{st\t"), expect("c:jobs{status = $"),
    send("\"error\", l\t"), expect("limit = $"), send("2}\r"),
    expect("1018.-1013.-" .. PROMPT),
    send("\4"), { wait = true },
  }
  eq(r.status, 0)
end)

test("help() and ?x go through td.help; without it they say so and list methods", function()
  local r = drive {
    expect(PROMPT),
    -- a build without td.help
    line([[package.loaded["td.help"] = nil; package.preload["td.help"] = function() error("left out") end]]), expect(PROMPT),
    line("help()"), expect("not available.-" .. PROMPT),
    line("?td.query"), expect("no help for this function.-" .. PROMPT),
    line("j = td.job(1018)"), expect(PROMPT),
    line("help(j)"), expect("td%.v3%.job methods:.-wait.-" .. PROMPT),
    line(HELP_DOUBLE), expect(PROMPT),
    line("help()"), expect("Topics:.-jobs.-attempts.-" .. PROMPT),
    line("?client:jobs"), expect("the jobs, newest first %(double%)" .. PROMPT),
    line("help \"jobs\""), expect("the jobs, newest first %(double%)" .. PROMPT),
    send("\4"), { wait = true },
  }
  eq(r.status, 0)
end)

test("objects print as records on the terminal; colours only without NO_COLOR", function()
  t.reset()
  local r = drive({
    expect(PROMPT),
    line("td.job(1018)"), expect("job 1018  error.-Column 'nope' cannot be resolved.-" .. PROMPT),
    line("td.jobs{}"), expect("job_id.-1025.-… more: it:all%(%)" .. PROMPT),
    line("td.job('99999')"), expect("not_found.-" .. PROMPT),
    send("\4"), { wait = true },
  }, { env = { NO_COLOR = false } })
  like(r.raw, "\27%[31m", "colours on an xterm")
  local plain = drive {
    expect(PROMPT), line("td.job(1018)"), expect(PROMPT), send("\4"), { wait = true },
  }
  eq(plain.raw:find("\27[31m", 1, true), nil, "no colours with NO_COLOR")
end)

test("a narrow terminal: tables fit its width, CJK counted as two columns", function()
  local r = drive({
    expect(PROMPT),
    line("{ {name='日本語のとても長い名前です', note=('x'):rep(80)}, {name='ascii', note='ok ✓'} }"),
    expect("%(2 rows%)" .. PROMPT),
    send("\4"), { wait = true },
  }, { cols = 50 })
  local n = 0
  for l in r.segments[2]:gmatch("[^\n]+") do
    if l:sub(1, 1) == "|" then
      n = n + 1
      ok(pretty.width(l) <= 50, "fits: " .. l)
      eq(pretty.width(l), pretty.width(r.segments[2]:match("\n(|[^\n]+)")), "aligned: " .. l)
    end
  end
  eq(n, 4)
end)

-- ---------------------------------------------------------------------------
-- -i, the printer, pretty.show

test("tdlua -i script.lua keeps the script's globals and shows its returned values", function()
  local path = t.write_tmp("g = 5\nlocal l = 6\nreturn { answer = 42 }, 'two'\n", ".lua")
  local code, out = t.run("-i " .. t.sh_quote(path), { TD_API_KEY = "", TD_CONFIG_PATH = "/nonexistent" },
    "_.answer\ng + 1\nl\n")
  os.remove(path)
  eq(code, 0)
  like(out, "{ answer = 42 }\t\"two\"\n")
  like(out, "\n6\n")
  like(out, "\nnil\n", "locals end with the script")
  like(out, "\n42\n")
end)

test("the printer is replaceable and td.pretty.show prints", function()
  local code, out = t.run("-i", { TD_API_KEY = "", TD_CONFIG_PATH = "/nonexistent" },
    "td.repl.printer = function(...) print('P', select('#', ...), ...) end\n1, 'a'\n" ..
    "td.pretty.show({ {a=1}, {a=22} })\n")
  eq(code, 0)
  like(out, "P\t2\t1\ta\n")
  like(out, "| a  |\n|%-%-%-%-|\n|  1 |\n| 22 |\n")
end)

-- ---------------------------------------------------------------------------
-- printing, in process

test("pretty.width: ASCII, CJK, emoji, combining marks, invalid UTF-8", function()
  eq(pretty.width("abc"), 3)
  eq(pretty.width("日本語"), 6)
  eq(pretty.width("café"), 4)
  eq(pretty.width("e\204\129"), 1, "e + combining acute")
  eq(pretty.width("👍"), 2)
  eq(pretty.width("ｱ"), 1, "halfwidth katakana")
  eq(pretty.width("Ａ"), 2, "fullwidth A")
  eq(pretty.width("\255x"), 2)
  eq(pretty.truncate("日本語テキスト", 7), "日本語…")
  eq(pretty.width(pretty.truncate("日本語テキスト", 7)), 7)
  eq(pretty.truncate("short", 10), "short")
end)

test("tables fit a width: wide columns are cut with … and every line is as wide", function()
  local rows = {}
  for i = 1, 5 do rows[i] = { i, ("名前%d"):format(i) .. ("長"):rep(i * 5), ("note "):rep(i * 6), "✓" } end
  local s = pretty.table({ "id", "name", "note", "ok" }, rows, { width = 60 })
  local w
  for l in s:gmatch("[^\n]+") do
    if l:sub(1, 1) == "|" then
      w = w or pretty.width(l)
      eq(pretty.width(l), w, l)
    end
  end
  ok(w <= 60, "fits")
  like(s, "…")
  like(s, "| id | name")
  -- without a width nothing is cut below the cell limit
  local wide = pretty.table({ "name" }, { { ("z"):rep(50) } })
  like(wide, ("z"):rep(50))
end)

test("format: depth and item limits, cycle markers", function()
  local t1 = { 1, 2, 3 }
  t1[4] = t1
  eq(pretty.format(t1), "{ 1, 2, 3, <cycle> }")
  local deep = { a = { b = { c = { d = { e = 1 } } } } }
  like(pretty.format(deep, 2), "{ a = { b = {…} } }")
  local many = {}
  for i = 1, 120 do many[i] = i end
  like(pretty.format(many), "… 70 more")
  local shared = { x = 1 }
  like(pretty.format({ shared, shared }), "{ { x = 1 }, { x = 1 } }", "a table seen twice is not a cycle")
end)

test("objects render as records: job, failed job with stderr, error, pager", function()
  t.reset()
  local c = t.client()
  local j = c:job("1018")
  local s = pretty.render(j)
  like(s, "^job 1018  error  ")
  like(s, "\n  Query failed")
  local e = select(2, pcall(c.job, c, "99999"))
  like(pretty.render(e), "not_found")
  local it = c:jobs {}
  local page = pretty.render(it, { page = 5 })
  like(page, "| job_id | status")
  like(page, "… more: it:all%(%)")
  local all = it:all()
  eq(#all, 25, "printing the first page used nothing up")
  eq(all[1].job_id, "1025")
  local none = c:jobs { status = "error" }
  local n = 0
  for _ in none do n = n + 1 end
  eq(n, 4, "a pager is still a for-in iterator")
end)

test("workflow objects render as records: attempt, session, schedule, project", function()
  t.reset()
  local w = t.client({ workflow_endpoint = t.fake().url }).workflow
  local a = w:start("etl", "daily", { session_time = "2026-11-10" })
  like(pretty.render(a), "^attempt %d+  %a+  etl/daily  session ")
  local s = a:session()
  like(pretty.render(s), "^session %d+  etl/daily  ")
  local p = w:project("etl")
  like(pretty.render(p), "^project %d+  etl")
  local scheds = w:schedules():all()
  ok(#scheds > 0, "the fake has schedules")
  like(pretty.render(scheds[1]), "^schedule %d+  %w+/%w+")
  like(pretty.render(scheds), "| id | project")
end)

test("an object's summary() is used when it has one", function()
  local Obj = { __name = "x.thing" }
  Obj.__index = Obj
  function Obj.summary(self) return "thing " .. self.n end
  eq(pretty.render(setmetatable({ n = 3 }, Obj)), "thing 3")
end)
