-- tasks and the scheduler
local t = require "testlib"
local test, eq, ok, like, raises_kind = t.test, t.eq, t.ok, t.like, t.raises_kind

test("spawned tasks sleep concurrently", function()
  local order = {}
  local function sleeper(name, secs)
    return function()
      order[#order + 1] = name .. "+"
      td.sleep(secs)
      order[#order + 1] = name .. "-"
      return name
    end
  end
  local a = td.spawn(sleeper("a", 0.2))
  local b = td.spawn(sleeper("b", 0.05))
  eq({ td.wait(a, b) }, { "a", "b" })
  eq(order, { "a+", "b+", "b-", "a-" }) -- b finished while a was still asleep
end)

test("wait returns all results of one task and re-raises its error", function()
  local task = td.spawn(function(x, y) return x + y, "sum" end, 2, 3)
  eq({ td.wait(task) }, { 5, "sum" })
  local bad = td.spawn(function() error({ kind = "custom" }) end)
  eq(t.raises(td.wait, bad).kind, "custom")
  eq(bad.status, "failed")
end)

test("a task waiting on a request does not block other tasks", function()
  t.reset()
  local c = t.client()
  t.fault { path = "^/v3/account/show$", delay = 0.5, status = 200, body = { account = { id = 7 } }, times = 1 }
  local order = {}
  local slow = td.spawn(function() local a = c:account() order[#order + 1] = "slow" return a.id end)
  local fast = td.spawn(function() td.sleep(0.05) order[#order + 1] = "fast" end)
  td.wait(fast)
  eq(td.wait(slow), 7)
  eq(order, { "fast", "slow" })
end)

test("map keeps order, bounds concurrency and collects failures", function()
  local running, peak = 0, 0
  local res = td.map({ 1, 2, 3, 4, 5, 6 }, function(x)
    running = running + 1
    peak = math.max(peak, running)
    td.sleep(0.02)
    running = running - 1
    if x == 4 then error("four") end
    return x * 10
  end, { concurrency = 2, collect = true })
  eq(peak, 2)
  eq(res[1], { ok = true, value = 10 })
  eq(res[6].value, 60)
  eq(res[4].ok, false)
  like(tostring(res[4].err), "four")
  like(raises_kind("usage", td.map, {}, print, { concurrency = 0 }).message, "concurrency")
  like(raises_kind("usage", td.map, nil, print).message, "'list'")
end)

test("every repeats until fn returns false", function()
  local n = 0
  local task = td.every(0.01, function() n = n + 1 return n < 3 end)
  td.wait(task)
  eq(n, 3)
  raises_kind("usage", td.every, "soon", print)
end)

test("bad arguments name the argument", function()
  like(raises_kind("usage", td.sleep, "5").message, "'seconds'")
  like(raises_kind("usage", td.spawn, 42).message, "'fn'")
  like(raises_kind("usage", td.wait, {}).message, "td.wait")
end)

test("td.try returns nil, err", function()
  local v, err = td.try(function() error({ kind = "x" }) end)
  eq(v, nil)
  eq(err.kind, "x")
  eq({ td.try(function(a) return a, 2 end, 1) }, { 1, 2 })
end)

test("td.time.parse understands TD's timestamp shapes", function()
  local T = 1795341600 -- 2026-11-22 10:00:00 UTC
  eq(td.time.parse("2026-11-22 10:00:00 UTC"), T)
  eq(td.time.parse("2026-11-22T10:00:00Z"), T)
  eq(td.time.parse("2026-11-22T19:00:00+09:00"), T)
  eq(td.time.parse("2026-11-22 19:00:00 +0900"), T)
  eq(td.time.parse("2026-11-22"), T - 36000)
  eq(td.time.parse(""), nil)
  eq(td.time.format(T), "2026-11-22 10:00:00 UTC")
end)

test("tasks waiting on tasks: wait_all over a task, chains of 50, map whose fn spawns and waits", function()
  local one = td.spawn(function() td.sleep(0.02) return "slept" end)
  local res = td.wait_all { one }
  eq(res[1].ok, true)
  eq(res[1].value, "slept")
  -- a chain: each task waits for the one before it
  local prev
  for i = 1, 50 do
    local p = prev
    prev = td.spawn(function()
      local before = p and td.wait(p) or 0
      td.sleep(0.001)
      return before + i
    end)
  end
  eq(td.wait(prev), 50 * 51 // 2)
  -- tasks spawned and waited for inside td.map's workers (which are tasks)
  local out = td.map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function(x)
    local inner = td.spawn(function() td.sleep(0.005 * (x % 3)) return x * 2 end)
    local also = td.spawn(function() return x end)
    return td.wait(inner) + td.wait(also)
  end, { concurrency = 3 })
  for i = 1, 10 do eq(out[i].value, 3 * i) end
  -- many tasks woken in the same drain, waited on from the top level
  local many = {}
  for i = 1, 200 do many[i] = td.spawn(function() td.sleep(0) return i end) end
  local all = td.wait_all(many)
  for i = 1, 200 do eq(all[i].value, i) end
end)

test("helpers that wait on many things raise one error listing each failure unless asked to collect", function()
  local function fails_on_even(x)
    td.sleep(0.001 * x)
    if x % 2 == 0 then error(("item %d broke"):format(x), 0) end
    return x
  end
  -- td.map: every item runs to its end, then one error lists each failure
  local ran = 0
  local e = raises_kind("some_failed", td.map, { 1, 2, 3, 4, 5 }, function(x)
    ran = ran + 1
    return fails_on_even(x)
  end, { concurrency = 2 })
  eq(ran, 5)
  like(e.message, "^td%.map: 2 of 5 failed: #2 item 2 broke; #4 item 4 broke$")
  eq(#e.failures, 2)
  eq(e.failures[1].index, 2)
  eq(e.failures[2].err, "item 4 broke")
  eq(e.results[5], { ok = true, value = 5 })
  like(e.hint, "collect = true")
  -- with collect = true the outcomes come back and nothing is raised
  local res = td.map({ 1, 2 }, fails_on_even, { collect = true })
  eq(res[1], { ok = true, value = 1 })
  eq(res[2].ok, false)
  -- td.wait_all: the same contract over tasks
  local tasks = {}
  for i = 1, 4 do tasks[i] = td.spawn(fails_on_even, i) end
  e = raises_kind("some_failed", td.wait_all, tasks)
  like(e.message, "^td%.wait_all: 2 of 4 failed: #2 item 2 broke; #4 item 4 broke$")
  for _, task in ipairs(tasks) do ok(task.status ~= "running") end
  res = td.wait_all(tasks, { collect = true })
  eq(res[3], { ok = true, value = 3 })
  eq(res[4].err, "item 4 broke")
  -- td.wait with several tasks: the same; with one, the task's own error
  e = raises_kind("some_failed", td.wait, tasks[1], tasks[2], tasks[4])
  like(e.message, "^td%.wait: 2 of 3 failed: #2 item 2 broke; #3 item 4 broke$")
  eq(t.raises(td.wait, tasks[2]), "item 2 broke")
  -- all well: no error, the outcomes in order
  res = td.wait_all { td.spawn(function() return "x" end) }
  eq(res[1], { ok = true, value = "x" })
  -- many failures: the first ten are spelt out
  local many = {}
  for i = 1, 25 do many[i] = i * 2 end
  e = raises_kind("some_failed", td.map, many, fails_on_even)
  like(e.message, "25 of 25 failed: #1 item 2 broke;.*#10 item 20 broke; and 15 more$")
end)

test("a script whose waits failed exits non-zero and says what failed", function()
  local code, _, err = t.run("-e " .. t.sh_quote([[
    local a = td.spawn(function() error("attempt 7 failed", 0) end)
    local b = td.spawn(function() return 1 end)
    td.wait_all { a, b }
    print("not reached")]]))
  eq(code, 1)
  like(err, "some_failed: td%.wait_all: 1 of 2 failed: #1 attempt 7 failed")
  -- failures that share an exit status give it (3: failed jobs or attempts)
  code, _, err = t.run("-e " .. t.sh_quote([[
    local function fails() td.errors.raise { kind = "attempt_failed", message = "attempt 9 failed" } end
    td.wait_all { td.spawn(fails), td.spawn(fails) }]]))
  eq(code, 3, err)
end)

test("wait_all, map and wait reject bad arguments and unknown options with usage errors", function()
  like(raises_kind("usage", td.wait_all, nil).message, "'list' to 'td%.wait_all'")
  like(raises_kind("usage", td.wait_all, { 42 }).message, "item #1 is a number")
  like(raises_kind("usage", td.wait_all, {}, 5).message, "td%.wait_all")
  like(raises_kind("usage", td.wait_all, {}, { concurrency = 0 }).message, "concurrency")
  like(raises_kind("usage", td.map, {}, print, { colect = true }).message, "did you mean 'collect'")
  raises_kind("usage", td.wait)
end)
