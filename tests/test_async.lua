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
  end, { concurrency = 2 })
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
