--- td.trino.query: an interactive query over TD's Trino (Presto) endpoint.
-- The Trino client protocol: `POST /v1/statement` with the SQL, then `GET`
-- each page's `nextUri` until a page has none; `DELETE nextUri` cancels.
-- Every request goes through td.http (its retries: a 503 or a reset while
-- fetching a page retries that GET, which the protocol makes idempotent;
-- the POST is never sent twice). Rows are read page by page as the loop
-- asks for them, so memory holds one page however large the result is.
--
-- A query object: fields id, state, stats (the last page's), schema
-- ({ {name, type}, ... } as job.schema), sql, catalog, database,
-- rows_read, elapsed, update_type, update_count, warnings, cancelled.
-- Methods: rows, records, columns, fetch, result_table, download, wait,
-- cancel, summary. Its rows are read once: a second read is a usage error.
local core = require "td.core"
local errors = require "td.errors"
local http = require "td.http"
local progress = require "td.progress"
local types = require "td.trino.types"

local M = {}

M.DEFAULT_CATALOG = "td-presto"
M.DEFAULT_SOURCE = "tdlua"
M.CANCEL_TIMEOUT = 10 -- seconds a DELETE of a running query may take

local NULL = core.null
local now = core.now
local tointeger = math.tointeger

local Query = {}
Query.__index = Query
Query.__name = "td.trino.query"
M.Query = Query

local private = setmetatable({}, { __mode = "k" }) -- query -> its state

local KNOWN = {
  db = true, database = true, catalog = true, source = true, session = true,
  timeout = true, progress = true, time_zone = true,
}

-- basic authentication with the API key as user name, as TD documents for
-- its Trino endpoint; the user headers carry the key too
local function auth(key)
  local b64 = require("td.redact").base64 -- the encoding redact masks
  return { "Authorization: Basic " .. b64(key .. ":"), "X-Trino-User: " .. key, "X-Presto-User: " .. key }
end

local function usage(msg) errors.raise { kind = "usage", message = msg } end

local function header_value(fname, name, v)
  errors.check(fname, name, v, "string")
  if v == "" or v:find("[%c]") then
    usage(("bad argument '%s' to '%s' (a non-empty name without control characters expected)"):format(name, fname))
  end
  return v
end

local function session_header(fname, session)
  errors.check(fname, "session", session, "table")
  local names = {}
  for k, v in pairs(session) do
    if type(k) ~= "string" or not k:match("^[%w_%.]+$") then
      usage(("bad argument 'session' to '%s' (property names are words such as query_max_run_time, got %s)")
        :format(fname, tostring(k)))
    end
    local tv = type(v)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      usage(("bad argument 'session' to '%s' (property %s: a string, number or boolean expected, got %s)")
        :format(fname, k, tv))
    end
    names[#names + 1] = k
  end
  table.sort(names)
  local parts = {}
  for _, k in ipairs(names) do
    local v = session[k]
    if math.type(v) == "float" and tointeger(v) then v = tointeger(v) end
    parts[#parts + 1] = k .. "=" .. http.escape(tostring(v))
  end
  return table.concat(parts, ",")
end

local function base_url(client)
  local ep = client.presto_endpoint
  if not ep then
    errors.raise {
      kind = "config", message = "no Trino (Presto) endpoint for " .. tostring(client.endpoint),
      hint = "pass td.client{presto_endpoint = ...} or set TD_PRESTO_API",
    }
  end
  return ep
end

local function origin(url)
  local scheme, host = url:match("^(%a+)://([^/?#]+)")
  return scheme and scheme:lower(), host and host:lower()
end

local function bad_response(q, msg)
  return errors.new { kind = "bad_response", query_id = q.id, message = msg, retryable = false }
end

local function integers(t)
  for k, v in pairs(t) do
    if math.type(v) == "float" then t[k] = tointeger(v) or v end
  end
  return t
end

-- ---------------------------------------------------------------------------
-- the page cursor

-- The query has no next page (finished, failed or cancelled); its last
-- page's rows may still be unread.
local function finish(q, st)
  q.rows_read = st.rows
  if st.finished then return end
  st.finished = true
  q.elapsed = now() - st.started
  st.bar:done()
end

local function show_progress(q, st)
  local s = q.stats or {}
  st.bar:update("%s, %d rows, %s, splits %s/%s", q.state or "?", st.rows,
    progress.clock(now() - st.started), tostring(s.completedSplits or 0), tostring(s.totalSplits or 0))
end

local function failure(q, e)
  local loc = type(e.errorLocation) == "table" and e.errorLocation or {}
  local name = type(e.errorName) == "string" and e.errorName or "QUERY_FAILED"
  local etype = type(e.errorType) == "string" and e.errorType or nil
  local msg = type(e.message) == "string" and e.message or "the query failed"
  local line, col = tointeger(loc.lineNumber or false), tointeger(loc.columnNumber or false)
  local near
  if line and q.sql then
    local n = 0
    for l in (q.sql .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if n == line then near = l break end
    end
  end
  return errors.new {
    kind = "query_failed", query_id = q.id,
    message = ("%s: %s (query %s)"):format(name, msg, tostring(q.id)),
    error_name = name, error_type = etype, error_code = tointeger(e.errorCode or false),
    line = line, column = col, near = near,
    user_error = etype == "USER_ERROR",
    retryable = etype ~= nil and etype ~= "USER_ERROR", -- the engine's fault: running it again may work
    hint = etype == "USER_ERROR" and "an error in the query" or nil,
  }
end

-- Take in one page of the protocol.
local function absorb(q, st, page)
  if type(page) ~= "table" or type(page.id) ~= "string" then
    error(bad_response(q, "a Trino answer without a query id"), 0)
  end
  q.id = page.id
  if type(page.infoUri) == "string" then q.info_uri = page.infoUri end
  local stats = page.stats
  if type(stats) == "table" then
    q.stats = integers(stats)
    if type(stats.state) == "string" then q.state = stats.state end
  end
  local cols = page.columns
  if cols ~= nil and cols ~= NULL and not st.have_columns then
    if type(cols) ~= "table" then error(bad_response(q, "the Trino answer's columns are not a list"), 0) end
    q.schema, st.names, st.convert = types.columns(cols)
    st.have_columns = true
  end
  if type(page.updateType) == "string" then q.update_type = page.updateType end
  if page.updateCount ~= nil and page.updateCount ~= NULL then q.update_count = tointeger(page.updateCount) end
  if type(page.warnings) == "table" and page.warnings[1] ~= nil then q.warnings = page.warnings end
  local data = page.data
  if data ~= nil and data ~= NULL then
    if type(data) ~= "table" then error(bad_response(q, "the Trino answer's data is not a list"), 0) end
    if not st.have_columns and data[1] ~= nil then
      error(bad_response(q, "Trino sent rows before their columns"), 0)
    end
    st.data, st.pos = data, 1
  end
  local err = page.error
  if err ~= nil and err ~= NULL then
    st.next = nil
    q.state = "FAILED"
    finish(q, st)
    error(failure(q, type(err) == "table" and integers(err) or { message = tostring(err) }), 0)
  end
  local nxt = page.nextUri
  if nxt ~= nil and nxt ~= NULL then
    if type(nxt) ~= "string" then error(bad_response(q, "the Trino answer's nextUri is not a string"), 0) end
    -- the key goes with every page request: only to where the query was sent
    local s1, h1 = origin(st.base)
    local s2, h2 = origin(nxt)
    if h1 ~= h2 or (s1 == "https" and s2 ~= "https") then
      error(bad_response(q, ("Trino's nextUri points at %s://%s, not at the endpoint %s"):format(
        tostring(s2), tostring(h2), st.base)), 0)
    end
    st.next = nxt
    show_progress(q, st)
  else
    st.next = nil
    finish(q, st)
  end
end

-- DELETE the next page: Trino cancels the query. Raises on failure.
local function cancel(q, st)
  local uri = st.next
  st.next, st.data = nil, nil
  if uri then
    q.cancelled = true
    q.state = "CANCELED"
    local client = st.client
    local limit = math.min(M.CANCEL_TIMEOUT, client.timeout > 0 and client.timeout or M.CANCEL_TIMEOUT)
    local ok, err = pcall(http.request, client, {
      method = "DELETE", url = uri, auth = auth, raw = true, ok = { 404, 410 },
      deadline = now() + limit,
    })
    finish(q, st)
    if not ok then error(err, 0) end
  else
    finish(q, st)
  end
end

-- Cancel without raising (for `break`, errors and Ctrl-C on the way out).
local function cancel_quietly(q, st)
  if st.next then pcall(cancel, q, st) else finish(q, st) end
end

local function timeout_error(q, st)
  cancel_quietly(q, st)
  errors.raise {
    kind = "timeout", query_id = q.id, retryable = false,
    message = ("the Trino query %s did not finish within %gs (it was cancelled)"):format(tostring(q.id), st.timeout),
  }
end

-- Fetch the next page (st.next). Any failure cancels the query first.
local function fetch_page(q, st)
  if st.deadline and now() >= st.deadline then timeout_error(q, st) end
  local ok, body = pcall(http.request, st.client, {
    method = "GET", url = st.next, auth = auth, raw = true, deadline = st.deadline,
  })
  if not ok then
    local e = body
    if st.deadline and now() >= st.deadline - 0.001 and errors.is(e, "timeout") then timeout_error(q, st) end
    cancel_quietly(q, st)
    if errors.is(e) then e.query_id = q.id end
    error(e, 0)
  end
  local page, jerr = types.decode(body)
  if not page then
    cancel_quietly(q, st)
    error(bad_response(q, "a Trino page is not valid JSON: " .. tostring(jerr)), 0)
  end
  local aok, aerr = pcall(absorb, q, st, page)
  if not aok then
    cancel_quietly(q, st)
    error(aerr, 0)
  end
end

-- The next row (converted), or nil at the end of the result.
local function next_row(q, st)
  while true do
    local data = st.data
    if data then
      local i = st.pos
      local row = data[i]
      if row ~= nil then
        st.pos = i + 1
        if type(row) ~= "table" then
          cancel_quietly(q, st)
          error(bad_response(q, "a Trino row is not a list"), 0)
        end
        local convert = st.convert
        if convert then convert(row) end
        st.rows = st.rows + 1
        return row
      end
      st.data = nil
    end
    if not st.next then
      finish(q, st)
      return nil
    end
    fetch_page(q, st)
  end
end

local function state_of(self, name)
  local st = getmetatable(self) == Query and private[self]
  if not st then
    errors.raise { kind = "usage", message = ("bad self to 'query:%s' (a Trino query expected; call it with ':')"):format(name) }
  end
  return st
end

-- Start the one read of the rows.
local function begin(self, name)
  local st = state_of(self, name)
  if st.reading then
    errors.raise {
      kind = "usage", message = ("query:%s: the rows of Trino query %s were already read (they stream once)"):format(name, tostring(self.id)),
      hint = "run the query again for another pass",
    }
  end
  st.reading = true
  return st
end

-- A to-be-closed value: leaving the loop early cancels the query.
local function closer(self, st)
  return setmetatable({}, { __close = function() cancel_quietly(self, st) end })
end

-- ---------------------------------------------------------------------------
-- submission

--- client:trino(sql, {db =, catalog = "td-presto", source = "tdlua",
-- session = {name = value}, time_zone =, timeout =, progress =}) -> query.
-- Sends the SQL to TD's Trino endpoint (POST /v1/statement; the endpoint is
-- the client's presto_endpoint) and returns at once with the query's id;
-- the rows arrive as they are read (query:rows(), records(), fetch(n),
-- result_table(n), download(...), or wait() for statements without rows).
-- db is the schema (TD's database); session sets Trino session properties;
-- timeout (seconds) bounds the whole query, reading included: past it the
-- query is cancelled and a `timeout` error raised. Errors: `usage`,
-- `config` (no endpoint), the HTTP kinds for the POST (never retried:
-- it may have started the query), `query_failed` when Trino reports a
-- failure (error_name, error_type, line, column, query_id).
function M.submit(client, sql, opts)
  local fname = "client:trino"
  errors.check(fname, "sql", sql, "string")
  if sql:match("^%s*$") then usage(fname .. ": sql is empty") end
  opts = errors.opts(fname, opts, KNOWN)
  local db = opts.db or opts.database
  local catalog = opts.catalog or M.DEFAULT_CATALOG
  local source = opts.source or M.DEFAULT_SOURCE
  local headers = { "Accept: application/json" }
  local function both(name, v)
    headers[#headers + 1] = "X-Trino-" .. name .. ": " .. v
    headers[#headers + 1] = "X-Presto-" .. name .. ": " .. v
  end
  both("Catalog", header_value(fname, "catalog", catalog))
  if db ~= nil then both("Schema", header_value(fname, "db", db)) end
  both("Source", header_value(fname, "source", source))
  if opts.time_zone ~= nil then both("Time-Zone", header_value(fname, "time_zone", opts.time_zone)) end
  if opts.session ~= nil then
    local s = session_header(fname, opts.session)
    if s ~= "" then both("Session", s) end
  end
  if opts.timeout ~= nil then
    errors.check(fname, "timeout", opts.timeout, "number")
    if opts.timeout <= 0 then usage(fname .. ": timeout must be positive") end
  end
  if opts.progress ~= nil then errors.check(fname, "progress", opts.progress, "boolean") end

  local base = base_url(client)
  local started = now()
  local st = {
    client = client, base = base, started = started, rows = 0, timeout = opts.timeout,
    deadline = opts.timeout and started + opts.timeout,
    bar = progress.new(false), -- until the query has an id
  }
  local q = setmetatable({ sql = sql, catalog = catalog, database = db, state = "SUBMITTING", rows_read = 0 }, Query)
  private[q] = st
  local body, resp = http.request(client, {
    method = "POST", url = base .. "/v1/statement", body = sql,
    content_type = "text/plain; charset=utf-8", headers = headers, auth = auth,
    raw = true, deadline = st.deadline, idempotent = false,
    describe = function()
      return ("run a Trino query%s:%s"):format(db and (" on database " .. db) or "",
        require("td.dryrun").block(sql))
    end,
  })
  if resp.dry_run then
    q.state = "DRY_RUN"
    finish(q, st)
    return q
  end
  local page, jerr = types.decode(body)
  if not page then error(bad_response(q, "the Trino answer is not valid JSON: " .. tostring(jerr)), 0) end
  st.bar = progress.new(opts.progress, "trino " .. tostring(page.id))
  absorb(q, st, page)
  return q
end

-- ---------------------------------------------------------------------------
-- reading

--- query:rows() - the rows as arrays (SQL NULL is td.null), read page by
-- page. The fourth value closes: leaving the loop early (break, an error,
-- Ctrl-C) cancels the query on TD (DELETE nextUri).
--   for row in c:trino(sql, {db = "web"}):rows() do ... end
function Query:rows()
  local st = begin(self, "rows")
  return function() return next_row(self, st) end, nil, nil, closer(self, st)
end

--- query:records() - the rows as maps keyed by column name (a NULL column
-- is absent), read page by page; leaving the loop early cancels the query.
function Query:records()
  local st = begin(self, "records")
  return function()
    local row = next_row(self, st)
    if row == nil then return nil end
    local names, rec = st.names, {}
    for i = 1, #names do
      local v = row[i]
      if v ~= nil and v ~= NULL then rec[names[i]] = v end
    end
    return rec
  end, nil, nil, closer(self, st)
end

--- query:columns() - the column names (reads pages until Trino has
-- announced them, keeping their rows for the read that follows).
function Query:columns()
  local st = state_of(self, "columns")
  while not st.have_columns and st.next do fetch_page(self, st) end
  return st.names or {}
end

--- query:fetch(n) - the first n rows (default 10) as an array of arrays;
-- the rest of the query is cancelled.
function Query:fetch(n)
  n = n or 10
  errors.check("query:fetch", "n", n, "integer")
  local st = begin(self, "fetch")
  local rows = {}
  local _ <close> = closer(self, st)
  while #rows < n do
    local row = next_row(self, st)
    if row == nil then break end
    rows[#rows + 1] = row
  end
  return rows
end

local ResultTable = {}
ResultTable.__index = ResultTable
ResultTable.__name = "td.trino.result_table"

--- result_table:summary() - "40 rows (more not read), query <id>, 0.8s"
function ResultTable:summary()
  local more = self.more and " (more not read)" or ""
  return ("%d row%s%s, query %s, %.1fs"):format(#self.rows, #self.rows == 1 and "" or "s", more,
    tostring(self.query_id), self.elapsed or 0)
end

--- result_table:render([opts]) - the rows as an aligned table (td.pretty's,
-- fitted to opts.width or pretty.options.width, the terminal's in the REPL)
-- followed by the summary line. opts: td.pretty's table options, or a
-- width as a number.
function ResultTable:render(opts)
  if type(opts) == "number" then opts = { width = opts } end
  if opts ~= nil then errors.check("result_table:render", "opts", opts, "table") end
  local pretty = require "td.pretty"
  local o = setmetatable({ footer = false }, { __index = opts })
  return pretty.table(self.columns, self.rows, o) .. "\n" .. self:summary()
end

function ResultTable.__tostring(t) return t:render() end

-- the REPL prints a result table whole (not its one-line summary)
require("td.pretty").register(ResultTable.__name, function(t, o) return t:render(o) end)

--- query:result_table(n) - { columns = names, rows = {...}, more =,
-- query_id =, elapsed = } with at most n rows (all when n is nil), ready
-- for td.pretty (tostring prints an aligned table and a summary line).
-- `more` is true when rows were left unread (the query is then cancelled).
function Query:result_table(n)
  if n ~= nil then errors.check("query:result_table", "n", n, "integer") end
  local st = begin(self, "result_table")
  local rows = {}
  local more = false
  do
    local _ <close> = closer(self, st)
    while true do
      if n and #rows >= n then
        more = st.next ~= nil or (st.data ~= nil and st.data[st.pos] ~= nil)
        break
      end
      local row = next_row(self, st)
      if row == nil then break end
      rows[#rows + 1] = row
    end
  end
  return setmetatable({
    columns = self:columns(), rows = rows, more = more, query_id = self.id,
    elapsed = self.elapsed, schema = self.schema,
  }, ResultTable)
end

--- query:wait() - read the query to its end, counting and dropping any
-- rows (for INSERT, CREATE TABLE AS, DELETE: Trino runs a statement only
-- while its pages are read). Returns the query (update_type, update_count,
-- rows_read, stats).
function Query:wait()
  local st = begin(self, "wait")
  local _ <close> = closer(self, st)
  while next_row(self, st) ~= nil do end
  return self
end

--- query:cancel() - cancel the query on TD when it is still running
-- (DELETE nextUri); returns the query. Raises when the DELETE fails.
function Query:cancel()
  local st = state_of(self, "cancel")
  st.reading = true
  cancel(self, st)
  return self
end

--- `local q <close> = c:trino(...)`: leaving the scope cancels a query
-- still running.
function Query:__close()
  local st = private[self]
  if st then cancel_quietly(self, st) end
end

function Query.__tostring(q)
  return ("td.trino.query(%s %s, %d rows read)"):format(tostring(q.id), tostring(q.state), q.rows_read or 0)
end

--- query:summary() - a one-line description: id, state, rows read, time.
function Query:summary()
  state_of(self, "summary")
  local s = self.stats or {}
  return ("trino query %s %s, %d rows read, %s splits, %.1fs"):format(tostring(self.id), tostring(self.state),
    private[self].rows, tostring(s.totalSplits or 0), self.elapsed or (now() - private[self].started))
end

-- ---------------------------------------------------------------------------
-- downloads

local SUFFIXES = {
  { "%.csv$", "csv" }, { "%.tsv$", "tsv" }, { "%.jsonl$", "jsonl" }, { "%.ndjson$", "jsonl" }, { "%.json$", "json" },
}
local TEXT = { csv = true, tsv = true, json = true, jsonl = true }
local DL_KNOWN = { format = true, header = true, objects = true, progress = true }

--- query:download(path_or_handle, {format =, header = false, objects =
-- false, progress =}) - write the rows as csv, tsv, json or jsonl (the
-- same text as job:download writes; see docs/results.md). The target is
-- what td.output takes: a path (a regular file is written as path.tmp and
-- renamed when complete; a FIFO or device straight; a symlink keeps
-- pointing where it did), "-" for standard output, or an open file handle.
-- format comes from the file name's suffix unless given (required for "-"
-- and handles). Leaving early (an error, Ctrl-C, the query's timeout)
-- cancels the query and leaves no partial file. Returns { path, format,
-- rows, bytes, elapsed, query_id }.
function Query:download(target, opts)
  local fname = "query:download"
  state_of(self, "download")
  local output = require "td.output"
  local plan = output.check(target, fname)
  opts = errors.opts(fname, opts, DL_KNOWN)
  local fmt = opts.format
  if fmt == nil and type(target) == "string" then
    for _, s in ipairs(SUFFIXES) do
      if target:lower():find(s[1]) then fmt = s[2] break end
    end
  end
  if fmt == nil then usage("bad argument 'format' to 'query:download' (csv, tsv, json or jsonl expected; the target does not tell)") end
  if not TEXT[fmt] then
    usage(("bad argument 'format' to 'query:download' (csv, tsv, json or jsonl expected, got %s)"):format(tostring(fmt)))
  end
  for _, k in ipairs { "header", "objects", "progress" } do
    if opts[k] ~= nil then errors.check(fname, k, opts[k], "boolean") end
  end
  if opts.objects and fmt ~= "json" and fmt ~= "jsonl" then
    usage(("bad argument 'objects' to 'query:download' (only for json and jsonl, not %s)"):format(fmt))
  end
  local st = begin(self, "download")
  local started = now()
  local out, written = nil, 0
  local bar = progress.new(opts.progress, "trino " .. tostring(self.id) .. " -> " .. tostring(plan.shown))
  local ok, err = pcall(function()
    local _ <close> = closer(self, st)
    self:columns()
    out = output.open(plan, fname)
    local w = require("td.v3.formats").writer(fmt, function(s)
      out:write(s)
      written = written + #s
    end, self.schema or {}, { header = opts.header, objects = opts.objects })
    local count = 0
    while true do
      local row = next_row(self, st)
      if row == nil then break end
      w:row(row)
      count = count + 1
      if count & 4095 == 0 then bar:update("%d rows", count) end
    end
    w:finish()
    out:commit()
    return w.rows
  end)
  bar:done()
  if not ok then
    if out then out:abort() end
    error(err, 0)
  end
  return {
    path = type(target) == "string" and target or nil, format = fmt, rows = err, bytes = written,
    elapsed = now() - started, query_id = self.id,
  }
end

return M
