--- td.http: the HTTP policy between the API modules and td.core.
-- Builds URLs (strict path-segment escaping), form/JSON bodies and headers
-- (Authorization: TD1 <key>, User-Agent), decides what may be retried
-- (idempotent requests only: GET/HEAD/DELETE/PUT-by-id, and POSTs marked
-- safe by construction) with exponential backoff and full jitter, honours
-- Retry-After, maps failures to error objects, and traces one line per
-- request when asked. The API key exists only inside the header list.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local redact = require "td.redact"
local json = require "cjson.safe"

local M = {}

local host = package.loaded["td.host"] or {}
local VERSION = require "td.version"
M.USER_AGENT = "tdlua/" .. VERSION

local fmt, concat, byte = string.format, table.concat, string.byte
local now = core.now

--- Percent-encode one path segment: RFC 3986 unreserved characters only
-- ("." is escaped too, as TD's Ruby client does, so "a.json" cannot be read
-- as a format suffix).
function M.escape(s)
  s = tostring(s)
  return (s:gsub("[^%w%-_~]", function(c) return fmt("%%%02X", byte(c)) end))
end

local function qescape(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(c) return fmt("%%%02X", byte(c)) end))
end

--- application/x-www-form-urlencoded (also used for query strings). Keys are
-- sorted so requests are reproducible; booleans become "true"/"false";
-- nil values are left out; arrays repeat the key.
function M.encode_form(t)
  if not t then return "" end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    if type(v) == "table" then
      for _, x in ipairs(v) do out[#out + 1] = qescape(k) .. "=" .. qescape(x) end
    elseif v ~= nil and v ~= json.null then
      out[#out + 1] = qescape(k) .. "=" .. qescape(v)
    end
  end
  return concat(out, "&")
end

--- Build "/v3/job/show/<id>" from a pattern and segments: path("/v3/job/show/%s", id)
function M.path(pattern, ...)
  local args = table.pack(...)
  for i = 1, args.n do
    if args[i] == nil or args[i] == "" then
      errors.raise { kind = "usage", message = ("missing path argument #%d for %s"):format(i, pattern) }
    end
    args[i] = M.escape(args[i])
  end
  return fmt(pattern, table.unpack(args, 1, args.n))
end

local function trace(client, line)
  if client.trace then
    io.stderr:write("td: ", redact.text(line), "\n")
    io.stderr:flush()
  end
end

local function excerpt(body)
  if not body or body == "" then return nil end
  if #body > 500 then body = body:sub(1, 500) .. "..." end
  return body
end

--- Turn a non-2xx response into an error object.
function M.status_error(resp, method, url)
  local status, body = resp.status, resp.body or ""
  local ctype = (resp.headers["content-type"] or ""):lower()
  local msg, details
  local data = (body ~= "" and not ctype:find("html", 1, true)) and json.decode(body) or nil
  if type(data) == "table" then
    msg = data.message or data.error or data.text or data.errorMessage
    if type(msg) ~= "string" or msg == "" then msg = nil end
    if data.error and msg ~= data.error and type(data.error) == "string" and data.message then
      -- keep both: "Not Found: Job 123 was not found"
      if not data.message:find(data.error, 1, true) then msg = data.error .. ": " .. data.message end
    end
    details = data.details
  end
  if not msg then
    if ctype:find("html", 1, true) or body:match("^%s*<") then
      msg = ("HTTP %d with an HTML page (a proxy or load balancer answered, not the API)"):format(status)
    elseif body ~= "" then
      msg = ("HTTP %d: %s"):format(status, body:sub(1, 200):gsub("%s+", " "))
    else
      msg = ("HTTP %d with an empty body"):format(status)
    end
  end
  local kind = errors.kind_for_status(status)
  local e = {
    kind = kind, status = status, message = msg, method = method, url = url,
    request_id = resp.headers["x-request-id"] or resp.headers["x-td-request-id"],
    retryable = errors.RETRYABLE_STATUS[status] or false,
    body = excerpt(body), details = details, hint = errors.HINTS[kind],
  }
  if type(details) == "table" and details.conflicts_with then
    e.conflicts_with = tostring(details.conflicts_with)
  end
  return errors.new(e)
end

local NET_KIND = { timeout = "timeout", tls = "tls", too_large = "http", bad_url = "usage", aborted = "network" }
local NOT_RETRYABLE_NET = { tls = true, bad_url = true, too_large = true, aborted = true }

function M.network_error(code, message, method, url)
  if code == "timeout" and message and message:find("too slow", 1, true) then
    message = "the server sent nothing for too long (stalled): " .. message
  end
  return errors.new {
    kind = NET_KIND[code] or "network", code = code, message = message,
    method = method, url = url, retryable = not NOT_RETRYABLE_NET[code],
  }
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

--- An HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") as epoch seconds, or nil.
function M.http_date(v)
  local d, mon, y, h, mi, sec = tostring(v or ""):match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+)")
  if not d or not MONTHS[mon] then return nil end
  local t = os.time { year = tonumber(y), month = MONTHS[mon], day = tonumber(d), hour = tonumber(h),
    min = tonumber(mi), sec = tonumber(sec) }
  local utc_off = os.time(os.date("!*t", 0)) -- local -> UTC correction
  return t - utc_off
end

--- The server's clock at the time of a response (its Date header), or nil.
function M.server_time(resp)
  return resp and resp.headers and M.http_date(resp.headers["date"])
end

local function parse_retry_after(v)
  if not v then return nil end
  local n = tonumber(v)
  if n then return math.max(0, n) end
  -- an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT"
  local t = M.http_date(v)
  if t then return math.max(0, t - os.time()) end
  return nil
end
M.parse_retry_after = parse_retry_after

--- The delay before retry number `n` (1-based): full jitter over an
-- exponentially growing window, capped.
function M.backoff(policy, n)
  local window = math.min(policy.retry_max_delay, policy.retry_base_delay * 2 ^ (n - 1))
  return math.random() * window
end

--- Build the core.request spec for a request description.
local function build(client, r, idempotent)
  local base = r.base == "workflow" and client:_workflow_base() or client.endpoint
  local url = r.url or (base .. r.path)
  if r.query then
    local q = M.encode_form(r.query)
    if q ~= "" then url = url .. (url:find("?", 1, true) and "&" or "?") .. q end
  end
  local headers = { "User-Agent: " .. M.USER_AGENT, "Accept: " .. (r.accept or "application/json") }
  if type(r.auth) == "function" then
    -- another service's scheme (e.g. Trino's basic auth): the function turns
    -- the key into header lines, which live only in this list
    for _, h in ipairs(r.auth(client:_key())) do headers[#headers + 1] = h end
  elseif r.auth ~= false then
    headers[#headers + 1] = "Authorization: TD1 " .. client:_key()
  end
  local body = r.body
  if r.form then
    body = M.encode_form(r.form)
    headers[#headers + 1] = "Content-Type: application/x-www-form-urlencoded"
  elseif r.json ~= nil then
    body = assert(json.encode(r.json))
    headers[#headers + 1] = "Content-Type: application/json"
  elseif body and r.content_type then
    headers[#headers + 1] = "Content-Type: " .. r.content_type
  end
  for _, h in ipairs(r.headers or {}) do headers[#headers + 1] = h end
  return url, {
    url = url, method = r.method, headers = headers, body = body,
    stream = r.stream, connect_timeout = client.connect_timeout,
    timeout = r.stream and 0 or (r.timeout or client.timeout),
    -- stall detection for every request: no byte for stall_timeout seconds
    -- is a `timeout` (a paused stream is not stalled: libcurl skips the
    -- check while the consumer holds the transfer)
    low_speed_time = client.stall_timeout,
    accept_encoding = (not r.stream) and "gzip" or nil,
    ca_file = client.ca_file, max_body = r.max_body, high_water = r.high_water,
    fresh_connect = idempotent == false,
  }
end

local IDEMPOTENT = { GET = true, HEAD = true, OPTIONS = true, DELETE = true }
local SAFE = { GET = true, HEAD = true, OPTIONS = true } -- change nothing

-- lua-cjson decodes every number as a float; TD's counts, sizes and ids are
-- integers, so integral values are turned back into Lua integers.
local tointeger, mtype = math.tointeger, math.type
local function integers(t, depth)
  if depth > 64 then return t end
  for k, v in pairs(t) do
    if mtype(v) == "float" then
      local i = tointeger(v)
      if i then t[k] = i end
    elseif type(v) == "table" then
      integers(v, depth + 1)
    end
  end
  return t
end

--- Decode a JSON body: nil, message on malformed JSON.
function M.decode_json(body)
  local data, err = json.decode(body)
  if type(data) == "table" then integers(data, 0)
  elseif mtype(data) == "float" then data = tointeger(data) or data end
  return data, err
end

--- Wait for a started request to complete and collect its response.
local function collect(req)
  async.await_done(req)
  local ok, code, msg = req:result()
  local resp = { status = req:status(), headers = req:headers(), elapsed = req:elapsed() }
  if ok then resp.body = req:read() or "" end
  return ok, resp, code, msg
end

-- Did a failed try possibly reach the server and act? A request that never
-- got a connection did not; anything after that (a reset, a timeout, a 5xx,
-- a 2xx whose body is unreadable or wrong-shaped) may have.
local NOT_SENT = { resolve = true, connect = true, tls = true, bad_url = true }
local function maybe_acted(err)
  if err.code then return not NOT_SENT[err.code] end
  if err.status and err.status >= 200 and err.status < 300 then return true end
  if err.status then return err.status >= 500 end
  return true
end

--- A `bad_response` error: TD answered 2xx with something that is not what
-- the call expects (invalid JSON, or JSON of the wrong shape).
function M.bad_response(method, url, resp, why)
  return errors.new {
    kind = "bad_response", method = method, url = url, status = resp and resp.status,
    message = "unexpected answer: " .. why,
    body = resp and excerpt(resp.body) or nil,
    request_id = resp and resp.headers and (resp.headers["x-request-id"] or resp.headers["x-td-request-id"]),
    retryable = false,
  }
end

-- The hint of an error whose outcome is unknown: how to find what TD did.
local function identity_hint(identity)
  local keys = {}
  for k, v in pairs(identity) do keys[#keys + 1] = ("%s %s"):format(k, tostring(v)) end
  table.sort(keys)
  return ("TD may have carried it out; look it up by %s (running the same call again with it does not repeat it)")
    :format(table.concat(keys, ", "))
end

--- Perform a request with the client's retry policy: the one retry loop.
-- r = { method, path | url, base = "api"|"workflow", query, form, json, body,
--       content_type, headers, idempotent, auth = false | function(key) ->
--       {header lines}, raw = true, ok = {status...}, timeout, deadline,
--       expect, resolve, identity, describe, dry_run_send }
--   deadline (a core.now() time) bounds the whole call: each try's
--   timeout is cut to what is left, and no retry starts past it.
--   expect(data) -> nil when the decoded answer has the expected shape,
--     else a short description of what is wrong (a `bad_response` error).
--   A request that changes something (any method but GET/HEAD/OPTIONS)
--   goes out on a new connection every try: libcurl re-sends a request on
--   its own only over a reused connection, so every try on the wire is a
--   try counted here and an earlier try that may have acted is known.
--   resolve() -> value | nil: for calls with an identity chosen before the
--   first try (a domain_key, an attempt name, an import id). After a try
--   that may have reached the server, and before sending again, the kernel
--   asks it whether TD already has what the call creates; a value ends
--   the call with it (nothing is sent twice).
--   identity = { field = value, ... }: copied into the error raised when
--   the outcome stays unknown, with a hint telling how to find it.
-- `describe` (a string, or a function(r) returning one) says in TD's words
-- what a request that changes something would do ("kill job 1024"): under
-- --dry-run such a request is not sent and td.dryrun prints that instead.
-- Returns the decoded JSON (or the raw body with raw = true) and the
-- response table { status, headers, body, elapsed, attempts, maybe_sent,
-- started } (maybe_sent: an earlier try of this call may have reached the
-- server; started: core.now() when the first try was about to be sent).
function M.request(client, r)
  local method = r.method or "GET"
  r.method = method
  local mutating = not SAFE[method]
  local idempotent = r.idempotent
  if idempotent == nil then idempotent = IDEMPOTENT[method] or false end
  local url, spec = build(client, r, idempotent)
  if mutating then spec.fresh_connect = true end
  local shown = redact.text(url)

  if client.dry_run and not (IDEMPOTENT[method] and method ~= "DELETE") and not r.dry_run_send then
    return require("td.dryrun").intercept(r, method, shown)
  end

  local started = now()
  local attempt = 0
  local maybe_sent = false
  local deadline, full_timeout = r.deadline, spec.timeout
  while true do
    attempt = attempt + 1
    if maybe_sent and r.resolve then
      local rok, found = pcall(r.resolve)
      if not rok then
        -- TD could not be asked either: the outcome stays unknown
        if type(found) == "table" and r.identity then
          for k, v in pairs(r.identity) do found[k] = v end
          found.maybe_done, found.maybe_sent = true, true
          found.hint = identity_hint(r.identity)
        end
        error(found, 0)
      end
      if found ~= nil then
        trace(client, fmt("%s %s: resolved by identity after an unanswered try", method, shown))
        return found, { status = 0, headers = {}, body = "", resolved = true, attempts = attempt - 1, maybe_sent = true }
      end
    end
    if deadline then
      local left = math.max(0.001, deadline - now())
      spec.timeout = (full_timeout and full_timeout > 0) and math.min(full_timeout, left) or left
    end
    local req <close> = core.request(spec)
    local ok, resp, code, msg = collect(req)
    local err, retry_after
    if not ok then
      err = M.network_error(code, msg, method, shown)
    elseif resp.status < 200 or resp.status > 299 then
      local accepted = false
      for _, s in ipairs(r.ok or {}) do if s == resp.status then accepted = true end end
      if not accepted then
        err = M.status_error(resp, method, shown)
        retry_after = parse_retry_after(resp.headers["retry-after"])
      end
    end
    trace(client, fmt("%s %s -> %s %.3fs%s", method, shown,
      ok and tostring(resp.status) or ("error " .. tostring(code)), resp.elapsed,
      attempt > 1 and (" (retry " .. (attempt - 1) .. ")") or ""))

    if not err then
      resp.attempts, resp.maybe_sent, resp.started = attempt, maybe_sent, started
      if r.raw then return resp.body, resp end
      local data, jerr
      if resp.body == "" then
        data = {}
      else
        data, jerr = M.decode_json(resp.body)
      end
      if data == nil then
        local ctype = resp.headers["content-type"] or "?"
        err = M.bad_response(method, shown, resp,
          ("the body is not valid JSON (%s, content-type %s)"):format(jerr or "?", ctype))
        err.retryable = true
      elseif type(data) ~= "table" or getmetatable(data) ~= nil then
        -- every TD answer is a JSON object or array; `null`, a number or a
        -- string is never one to read fields from
        err = M.bad_response(method, shown, resp,
          ("a JSON %s where an object was expected"):format(data == json.null and "null" or type(data)))
        err.retryable = true
      elseif r.expect and resp.status >= 200 and resp.status < 300 then
        local why = r.expect(data)
        if why then
          err = M.bad_response(method, shown, resp, why)
          err.retryable = true
        end
      end
      if not err then return data, resp end
    end

    if mutating and maybe_acted(err) then maybe_sent = true end
    -- a request that may have acted is sent again only when that is safe:
    -- idempotent by construction (an identity the server dedups on) or
    -- resolvable (resolve() finds what the earlier try created)
    if not idempotent and not r.resolve and (maybe_sent or err.kind == "bad_response") then
      err.retryable = false
      if maybe_sent then err.hint = "not retried: the request may or may not have reached the server" end
    end
    err.attempts = attempt
    local elapsed = now() - started
    local give_up = not err.retryable or attempt > client.max_retries
    local delay = retry_after or M.backoff(client, attempt)
    if not give_up and elapsed + delay > client.retry_max_time then give_up = true end
    if not give_up and deadline and now() + delay >= deadline then give_up = true end
    if give_up then
      err.maybe_sent = maybe_sent or nil
      if maybe_sent and r.identity then
        -- the outcome is unknown: say what to look for
        for k, v in pairs(r.identity) do err[k] = v end
        err.maybe_done = true
        err.hint = identity_hint(r.identity)
      end
      error(err, 0)
    end
    trace(client, fmt("retrying %s %s in %.2fs (%s)", method, shown, delay, err.kind))
    async.sleep(delay)
  end
end

--- Start a streaming GET without waiting for an answer; returns the request
-- and its URL as it may be shown (redacted). The caller checks the status.
local function begin_stream(client, r)
  r.method = r.method or "GET"
  r.stream = true
  local url, spec = build(client, r)
  return core.request(spec), redact.text(url)
end

function M.start_stream(client, r)
  local req, shown = begin_stream(client, r)
  trace(client, fmt("%s %s (streaming, started)", r.method, shown))
  return req, shown
end

--- Start a streaming GET and wait for its first news; returns the request
-- (still running) or raises an error object for a non-2xx answer.
function M.open_stream(client, r)
  local req, shown = begin_stream(client, r)
  while not req:done() and req:bytes() == 0 do async.await(req) end
  local status = req:status()
  trace(client, fmt("%s %s -> %s (streaming)", r.method, shown, tostring(status)))
  if req:done() then
    local ok, code, msg = req:result()
    if not ok and req:bytes() == 0 then
      return nil, M.network_error(code, msg, r.method, shown)
    end
  end
  if status >= 300 or status < 200 then
    async.await_done(req)
    local resp = { status = status, headers = req:headers(), body = req:read() or "" }
    req:cancel()
    local e = M.status_error(resp, r.method, shown)
    e.retry_after = parse_retry_after(resp.headers["retry-after"])
    return nil, e
  end
  return req
end

return M
