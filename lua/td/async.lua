--- td.async: tasks, the scheduler and blocking-looking waits.
-- Calls that wait (HTTP requests, sleeps, job waits) look blocking. Inside
-- a task (td.spawn) they suspend only that task; at top level (script body,
-- REPL line, a coroutine of the user's own) they run the loop until done
-- while every task keeps progressing. Nothing here runs inside a libcurl
-- callback: td.core.poll returns, then Lua decides what to resume.
local core = require "td.core"
local errors = require "td.errors"

local M = {}

local cocreate, coresume, costatus, corunning, coyield =
  coroutine.create, coroutine.resume, coroutine.status, coroutine.running, coroutine.yield
local now, poll = core.now, core.poll
local unpack, pack = table.unpack, table.pack

local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> task
-- the run queue: a FIFO with explicit head and tail indexes (never `#`,
-- which is unreliable once the front has been cleared), so a task woken
-- while the queue is being drained is run in the same drain
local runq, runq_head, runq_tail = {}, 1, 0      -- {co, ...resume args}
local req_waiter = {}                            -- request -> coroutine | MAIN
local MAIN = {}                                  -- the top level as a waiter
local main_woken = false

-- timers: a binary min-heap of { at, seq, co }
local heap, seq = {}, 0

local function heap_push(t)
  heap[#heap + 1] = t
  local i = #heap
  while i > 1 do
    local p = i // 2
    local a, b = heap[p], heap[i]
    if a.at < b.at or (a.at == b.at and a.seq < b.seq) then break end
    heap[p], heap[i] = b, a
    i = p
  end
end

local function heap_pop()
  local top = heap[1]
  local n = #heap
  heap[1] = heap[n]
  heap[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and (heap[l].at < heap[m].at or (heap[l].at == heap[m].at and heap[l].seq < heap[m].seq)) then m = l end
    if r <= n and (heap[r].at < heap[m].at or (heap[r].at == heap[m].at and heap[r].seq < heap[m].seq)) then m = r end
    if m == i then break end
    heap[i], heap[m] = heap[m], heap[i]
    i = m
  end
  return top
end

local function wake(co, ...)
  if co == MAIN then
    main_woken = true
  elseif co then
    runq_tail = runq_tail + 1
    runq[runq_tail] = pack(co, ...)
  end
end

--- A task: the handle td.spawn returns.
local Task = {}
Task.__index = Task
Task.__name = "td.task"

function Task.__tostring(t)
  return ("td.task(%s)"):format(t.status)
end

local function finish(task, ok, ...)
  if ok then
    task.status = "done"
    task.results = pack(...)
  else
    task.status = "failed"
    task.err = ...
  end
  local waiters = task.waiters
  task.waiters = nil
  for _, co in ipairs(waiters) do wake(co) end
end

local function step_task(item)
  local co = item[1]
  local task = tasks[co]
  if not task or task.status ~= "running" then return end -- cancelled (async.cancel)
  local res = pack(coresume(co, unpack(item, 2, item.n)))
  if costatus(co) == "dead" then -- returned or raised
    finish(task, unpack(res, 1, res.n))
  end
end

local function run_ready()
  while runq_head <= runq_tail do
    local item = runq[runq_head]
    runq[runq_head] = nil
    runq_head = runq_head + 1
    step_task(item)
  end
  runq_head, runq_tail = 1, 0
end

local function runq_empty() return runq_head > runq_tail end

local function fire_timers()
  local t = now()
  while heap[1] and heap[1].at <= t do
    local tm = heap_pop()
    wake(tm.co)
  end
end

--- The current waiter: the running task's coroutine, or MAIN.
local function current()
  local co = corunning()
  if tasks[co] then return co end
  return MAIN
end
M.current = current

--- Run the loop until pred() is true. Raises `interrupted` on Ctrl-C.
local function run_until(pred)
  while true do
    run_ready()
    fire_timers()
    run_ready()
    if pred() then return end
    local timeout = 3600
    if not runq_empty() then timeout = 0
    elseif heap[1] then timeout = math.max(0, heap[1].at - now()) end
    if timeout > 0 and core.active() == 0 and not heap[1] and runq_empty() then
      errors.raise { kind = "usage", message = "deadlock: waiting for something no task or request can provide" }
    end
    local list, why = poll(timeout)
    if not list then
      errors.raise { kind = "interrupted", message = "stopped by Ctrl-C" }
    end
    for i = 1, #list do
      local req = list[i]
      local w = req_waiter[req]
      if w then
        req_waiter[req] = nil
        wake(w)
      end
    end
  end
end
M.run_until = run_until

--- Suspend the caller until `req` has news (body data or completion).
function M.await(req)
  local w = current()
  req_waiter[req] = w
  if w == MAIN then
    main_woken = false
    local ok, err = pcall(run_until, function() return main_woken end)
    req_waiter[req] = nil
    if not ok then error(err, 0) end
  else
    coyield()
  end
end

--- Wait until the request is complete.
function M.await_done(req)
  while not req:done() do M.await(req) end
end

--- Sleep `sec` seconds without blocking other tasks.
function M.sleep(sec)
  errors.check("td.sleep", "seconds", sec, "number")
  local w = current()
  local at = now() + math.max(0, sec)
  seq = seq + 1
  heap_push { at = at, seq = seq, co = w } -- also bounds the loop's poll timeout
  if w == MAIN then
    run_until(function() return now() >= at end)
  else
    coyield()
  end
end

--- Start fn(...) as a task; returns the task handle at once.
function M.spawn(fn, ...)
  errors.check("td.spawn", "fn", fn, "function")
  local co = cocreate(fn)
  local task = setmetatable({ status = "running", waiters = {}, co = co }, Task)
  tasks[co] = task
  runq_tail = runq_tail + 1
  runq[runq_tail] = pack(co, ...)
  return task
end

local function wait_task(task)
  if getmetatable(task) ~= Task then
    errors.raise { kind = "usage", message = "td.wait expects tasks returned by td.spawn, got " .. type(task) }
  end
  if task.status == "running" then
    local w = current()
    if tasks[w] == task then
      errors.raise { kind = "usage", message = "a task cannot wait for itself" }
    end
    task.waiters[#task.waiters + 1] = w
    if w == MAIN then
      run_until(function() return task.status ~= "running" end)
    else
      while task.status == "running" do coyield() end
    end
  end
end

--- td.wait(task, ...): wait for every task. With one task, returns its
-- results, or raises its error as it is. With several, returns the first
-- result of each; when any failed, raises one `some_failed` error listing
-- each failure, after all have finished (the contract of td.wait_all).
function M.wait(...)
  local n = select("#", ...)
  if n == 0 then
    errors.raise { kind = "usage", message = "td.wait: expected one or more tasks returned by td.spawn" }
  end
  for i = 1, n do wait_task((select(i, ...))) end
  if n == 1 then
    local t = ...
    if t.status == "failed" then error(t.err, 0) end
    return unpack(t.results, 1, t.results.n)
  end
  local out, records = {}, {}
  for i = 1, n do
    local t = select(i, ...)
    if t.status == "failed" then records[i] = { ok = false, err = t.err }
    else
      out[i] = t.results[1]
      records[i] = { ok = true, value = t.results[1] }
    end
  end
  M.settle("td.wait", records, n)
  return unpack(out, 1, n)
end

-- the number of failures spelt out in a some_failed message
local LISTED = 10

--- The one contract of every helper that waits on many things (td.wait
-- with several tasks, td.map, td.wait_all): `records` is the list of
-- per-item outcomes { {ok = true, value =} | {ok = false, err =} }; when
-- any item failed and the caller did not ask to collect, raise one error
-- of kind `some_failed` whose message lists each failure (index and
-- error, the first ten spelt out) and whose fields are `failures` (an array
-- of { index =, err = }), `results` (the records) and `total`. Returns
-- records otherwise.
function M.settle(fname, records, total, collect)
  if collect then return records end
  local failures = {}
  for i = 1, total do
    local r = records[i]
    if r and not r.ok then failures[#failures + 1] = { index = i, err = r.err } end
  end
  if #failures == 0 then return records end
  local parts = {}
  for k = 1, math.min(#failures, LISTED) do
    local f = failures[k]
    local text = tostring(f.err):gsub("%s*\n%s*", " ")
    if #text > 300 then text = text:sub(1, 300) .. "..." end
    parts[#parts + 1] = ("#%d %s"):format(f.index, text)
  end
  if #failures > LISTED then parts[#parts + 1] = ("and %d more"):format(#failures - LISTED) end
  errors.raise {
    kind = "some_failed", failures = failures, results = records, total = total,
    message = ("%s: %d of %d failed: %s"):format(fname, #failures, total, table.concat(parts, "; ")),
    hint = "pass {collect = true} to get every outcome instead of an error",
  }
end

function Task:wait() return M.wait(self) end

local MAP_OPTS = { concurrency = true, collect = true }

--- td.map(list, fn, {concurrency = 8, collect = false}): fn(item, i) for
-- every item of the array `list`, at most `concurrency` at a time, each in
-- a task. Returns { {ok = true, value = v} | {ok = false, err = e} } in the
-- order of list. When any item failed, raises one `some_failed` error
-- listing each failure (err.failures, err.results; see async.settle) once
-- every item has finished, unless `collect = true`, which returns the
-- records whatever happened.
function M.map(list, fn, opts)
  errors.check("td.map", "list", list, "table")
  errors.check("td.map", "fn", fn, "function")
  opts = errors.opts("td.map", opts, MAP_OPTS)
  local conc = opts.concurrency or 8
  if math.type(conc) ~= "integer" or conc < 1 then
    errors.raise { kind = "usage", message = "td.map: concurrency must be a positive integer" }
  end
  return M.run_all("td.map", list, fn, conc, opts.collect)
end

--- Run fn(item, i) over list with `conc` workers and settle the outcomes
-- (the engine of td.map and td.wait_all).
function M.run_all(fname, list, fn, conc, collect)
  local results, nxt, n = {}, 1, #list
  local function worker()
    while nxt <= n do
      local i = nxt
      nxt = nxt + 1
      local ok, v = pcall(fn, list[i], i)
      if ok then results[i] = { ok = true, value = v }
      else results[i] = { ok = false, err = v } end
    end
  end
  local workers = {}
  for w = 1, math.min(conc, n) do workers[w] = M.spawn(worker) end
  for _, w in ipairs(workers) do wait_task(w) end
  for _, w in ipairs(workers) do if w.status == "failed" then error(w.err, 0) end end
  return M.settle(fname, results, n, collect)
end

--- Parse a duration: 30, "30s", "10m", "2h", "1d", "1h30m".
function M.duration(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local total, any = 0, false
  for num, unit in v:gmatch("(%d+%.?%d*)%s*([smhd]?)") do
    local mult = ({ s = 1, m = 60, h = 3600, d = 86400, [""] = 1 })[unit]
    total = total + tonumber(num) * mult
    any = true
  end
  return any and total or nil
end

--- td.every(interval, fn, opts): see td.loops (runs on a fixed grid
-- without drift, skips overlapping runs, stops cleanly on SIGINT/SIGTERM).
function M.every(interval, fn, opts)
  return require("td.loops").every(interval, fn, opts)
end

--- async.cancel(task, err) -> true if the task was running: it ends at once
-- as failed with err; its coroutine is closed (to-be-closed variables run)
-- and the requests it waited for are cancelled. Waiters of the task wake.
function M.cancel(task, err)
  if getmetatable(task) ~= Task or task.status ~= "running" then return false end
  local co = task.co
  if co == corunning() then
    errors.raise { kind = "usage", message = "a task cannot cancel itself" }
  end
  for req, w in pairs(req_waiter) do
    if w == co then
      req_waiter[req] = nil
      pcall(req.cancel, req)
    end
  end
  if costatus(co) == "suspended" then coroutine.close(co) end
  finish(task, false, err)
  return true
end

--- async.wait_any(tasks) -> the first task of the list that is (or becomes)
-- finished; waits without blocking other tasks.
function M.wait_any(list)
  local function first_done()
    for _, t in ipairs(list) do if t.status ~= "running" then return t end end
  end
  local done = first_done()
  if done then return done end
  local w = current()
  for _, t in ipairs(list) do t.waiters[#t.waiters + 1] = w end
  if w == MAIN then
    run_until(function() return first_done() ~= nil end)
  else
    while not first_done() do coyield() end
  end
  -- no stale wake-ups later from the others
  for _, t in ipairs(list) do
    if t.waiters then
      for i = #t.waiters, 1, -1 do if t.waiters[i] == w then table.remove(t.waiters, i) end end
    end
  end
  return first_done()
end

M.Task = Task
return M
