--- td.resolvers: how a call that changes state finds out, after a lost
-- reply, whether TD carried it out. A lost reply is a try that may have
-- reached the server and acted although its answer never came back (a 5xx,
-- a reset, an unreadable answer, a timeout: td.http's `maybe_sent`). Before
-- sending the call again the request kernel asks the call's resolver; the
-- resolver looks at TD's state by the call's identity (the name it creates
-- or deletes, the ids two swapped tables carry, the keys a user had before)
-- and answers with the value the call returns when the effect is there, or
-- nil when it is not (then the call is sent again: nothing happened). A
-- resolver never guesses: it reads.
--
-- A declaration (td.ops) names its resolver in `resolve = ...`, built by
-- one of the helpers below, so each decision is written once:
--   resolvers.exists(find [, answer])   the call creates something: done
--                                       when find(call) finds it
--   resolvers.gone(find [, answer])     the call deletes something: done
--                                       when find(call) does not
--   resolvers.new_in(list, key [, answer])
--                                       the call adds an item TD names
--                                       (an API key): done when list(call)
--                                       holds one that the snapshot taken
--                                       before the first try did not
-- find(call) returns the thing or nil; a not_found error counts as nil,
-- any other error means TD could not be asked (the outcome stays unknown
-- and the call raises, its error marked maybe_done). answer(call, found)
-- makes the value the call returns (what TD's answer would have been; the
-- declaration's unwrap still applies); without it the call returns what
-- find found ({} for a deletion).
local errors = require "td.errors"

local M = {}

--- resolvers.find(fn, call) -> fn(call), or nil when TD answers not_found.
-- Other errors are raised.
function M.find(fn, call)
  local ok, v = pcall(fn, call)
  if ok then
    if v == false then return nil end
    return v
  end
  if errors.is(v, "not_found") then return nil end
  error(v, 0)
end

--- resolvers.exists(find [, answer]) -> resolve(call): the effect of the
-- call is that find(call) finds something.
function M.exists(find, answer)
  return function(call)
    local x = M.find(find, call)
    if x == nil then return nil end
    if answer then return answer(call, x) end
    return x
  end
end

--- resolvers.gone(find [, answer]) -> resolve(call): the effect of the call
-- is that find(call) finds nothing (or TD answers not_found).
function M.gone(find, answer)
  return function(call)
    if M.find(find, call) ~= nil then return nil end
    if answer then return answer(call) end
    return {}
  end
end

--- resolvers.named(items, field, value) -> the first item of the array
-- whose `field` equals value (compared as strings), or nil.
function M.named(items, field, value)
  for _, x in ipairs(items or {}) do
    if type(x) == "table" and x[field] ~= nil and tostring(x[field]) == tostring(value) then return x end
  end
  return nil
end

--- resolvers.new_in(list, key [, answer]) -> resolve, snapshot: for a call
-- whose result TD names (a new API key). snapshot(call) records list(call)
-- (an array) before the first try; resolve(call) finds an item of the
-- current list, by key(item), that was not there then.
function M.new_in(list, key, answer)
  local function keys(call)
    local set = {}
    for _, x in ipairs(list(call) or {}) do set[key(x)] = x end
    return set
  end
  local function snapshot(call) return keys(call) end
  local function resolve(call)
    local before = call.snapshot
    if type(before) ~= "table" then return nil end
    for k, x in pairs(keys(call)) do
      if before[k] == nil then
        if answer then return answer(call, x) end
        return x
      end
    end
    return nil
  end
  return resolve, snapshot
end

return M
