--- td.v3.result: fetching a job's result (GET /v3/job/result/<id>?format=msgpack.gz).
-- The bytes come from a "source": an ordered sequence of requests. The C
-- decoder (rows) or a file writer (raw bytes) drains one request after the
-- other; libcurl fills a bounded buffer and pauses while it is full, so
-- memory stays flat however large the result is.
--
-- Sequential: one GET. A broken transfer resumes with `Range: bytes=N-` +
-- `If-Range: <ETag>` and must get 206 at exactly byte N; bytes are counted
-- on the wire and checked against Content-Length / Content-Range, so a row
-- is never yielded twice and the tail is never silently dropped.
--
-- By default (parallel = "auto") the choice is made from measured
-- throughput, not from the size alone: a result of at least
-- `ADAPTIVE_MIN` bytes is fetched with one ranged request for all of it,
-- watched for `DECIDE_AFTER` seconds (and at least `PROBE_SIZE` bytes).
-- When the bytes came slower than `FAST_RATE` bytes/s while the consumer
-- spent most of that time waiting for them (the link, not the consumer,
-- is the bottleneck), that request is cut short just ahead of what it has
-- delivered (req:stop_at) and the rest comes over `DEFAULT_PARALLEL`
-- ranged connections, in chunks small enough that each connection gets at
-- least two; else the one connection carries on alone (a fast link gains
-- nothing from more, and one connection holds the least memory).
--
-- Parallel (large results): the result is cut into chunks of `chunk_size`
-- bytes fetched with `Range: bytes=a-b` (+ If-Range) over up to `parallel`
-- connections at once. Every answer must be a 206 whose Content-Range is
-- exactly a-b/<total>; every chunk is byte-counted and resumes on its own
-- when it breaks. Chunks are consumed strictly in order and at most
-- `parallel` chunks are held (in flight or buffered), so memory stays
-- bounded by parallel x chunk_size.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local http = require "td.http"

local M = {}

M.DEFAULT_PARALLEL = 4
M.DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
M.DEFAULT_THRESHOLD = 64 * 1024 * 1024
M.ADAPTIVE_MIN = 4 * 1024 * 1024
M.PROBE_SIZE = 512 * 1024
M.DECIDE_AFTER = 0.5
M.FAST_RATE = 24 * 1000 * 1000
M.MIN_CHUNK_SIZE = 256 * 1024

local now = core.now

local function net(src, msg, fields)
  local e = { kind = "network", job_id = src.job_id, message = msg, retryable = false }
  for k, v in pairs(fields or {}) do e[k] = v end
  return errors.new(e)
end

--- How many connections to use: opts.parallel (nil/"auto": decided from
-- the measured throughput for results of at least ADAPTIVE_MIN bytes, or,
-- when opts.parallel_threshold is given, `DEFAULT_PARALLEL` when size >=
-- parallel_threshold; true: DEFAULT_PARALLEL; false or 1: sequential;
-- n >= 2: n), given the result size in bytes (nil: unknown, which means
-- sequential). Returns connections, chunk_size, adaptive.
function M.plan(opts, size)
  local chunk = opts.chunk_size or M.DEFAULT_CHUNK_SIZE
  local p = opts.parallel
  local n
  if (p == nil or p == "auto") and not opts.parallel_threshold then
    if size and size >= M.ADAPTIVE_MIN then return M.DEFAULT_PARALLEL, chunk, true end
    n = 1
  elseif p == nil or p == "auto" then
    n = (size and size >= opts.parallel_threshold) and M.DEFAULT_PARALLEL or 1
  elseif p == true then
    n = M.DEFAULT_PARALLEL
  elseif p == false then
    n = 1
  else
    n = p
  end
  if not size or size <= chunk then n = 1 end
  return n, chunk
end

--- Check the result-fetching options of rows/records/download (fname for
-- messages): parallel, chunk_size, parallel_threshold.
function M.check_opts(fname, opts)
  local p = opts.parallel
  if p ~= nil and p ~= "auto" and type(p) ~= "boolean" and not (math.type(p) == "integer" and p >= 1) then
    errors.raise { kind = "usage", message = ("bad argument 'parallel' to '%s' (a connection count >= 1, true, false or \"auto\" expected, got %s)")
      :format(fname, type(p) == "string" and ("%q"):format(p) or type(p)) }
  end
  for _, k in ipairs { "chunk_size", "parallel_threshold" } do
    local v = opts[k]
    if v ~= nil and not (math.type(v) == "integer" and v >= 1) then
      errors.raise { kind = "usage", message = ("bad argument '%s' to '%s' (a positive integer expected, got %s)")
        :format(k, fname, tostring(v)) }
    end
  end
end

-- ---------------------------------------------------------------------------
-- a source of result bytes

local Source = {}
Source.__index = Source

local function new_chunk(a, b)
  -- b = last byte (inclusive) or nil: up to the end of the result
  return { a = a, b = b, pos = a, segs = {}, tries = 0, state = "new" }
end

local function last_byte(src, ch)
  return ch.b or (src.total and src.total - 1)
end

-- Start a request for the rest of chunk ch (from ch.pos) without waiting.
function Source:start_segment(ch)
  local r = {
    path = http.path("/v3/job/result/%s", self.job_id),
    query = { format = "msgpack.gz" },
    accept = "*/*",
    high_water = self.high_water,
  }
  if ch.pos > 0 or ch.b ~= nil or ch.ranged then
    r.headers = { ("Range: bytes=%d-%s"):format(ch.pos, ch.b and tostring(ch.b) or "") }
    if self.etag then r.headers[2] = "If-Range: " .. self.etag end
  end
  local req, shown = http.start_stream(self.client, r)
  local seg = { req = req, start = ch.pos, shown = shown, ranged = r.headers ~= nil, checked = false }
  ch.segs[#ch.segs + 1] = seg
  ch.state = "running"
  self.requests = self.requests + 1
  return seg
end

-- Has a segment's answer arrived far enough to be checked?
local function answered(req)
  return req:done() or req:bytes() > 0
end

-- Check a segment's answer (once answered): true when usable; nil while a
-- non-2xx body is still arriving; false, err when unusable (the segment is
-- then cancelled and dropped from the chunk).
function Source:verify(ch, seg)
  local req = seg.req
  local status = req:status()
  local h = req:headers()
  local function bad(e)
    req:cancel()
    ch.segs[#ch.segs] = nil
    ch.state = "new"
    if not errors.is(e) then e = net(self, e) end
    e.job_id = self.job_id
    return false, e
  end
  if req:done() and req:bytes() == 0 then
    local ok, code, msg = req:result()
    if not ok then return bad(http.network_error(code, msg, "GET", seg.shown)) end
  end
  if status < 200 or status > 299 then
    if not req:done() then return nil end
    local resp = { status = status, headers = h, body = req:read() or "" }
    local e = http.status_error(resp, "GET", seg.shown)
    e.retry_after = http.parse_retry_after(h["retry-after"])
    return bad(e)
  end
  if h["content-encoding"] and h["content-encoding"] ~= "identity" then
    return bad("unexpected Content-Encoding " .. h["content-encoding"] .. " on a msgpack.gz result")
  end
  if seg.ranged and status == 200 and self.probing then
    -- the first request of a parallel plan: the server ignored the range,
    -- so this is the whole result; carry on sequentially with it
    self.connections, self.n = 1, 1
    ch.b = nil
    self.etag = h["etag"]
    self.total = tonumber(h["content-length"])
  elseif seg.ranged then
    if status ~= 206 then
      return bad(("asking for bytes %d-%s of the result got HTTP %d instead of 206 Partial Content (the result changed or the server ignored the range)")
        :format(ch.pos, ch.b and tostring(ch.b) or "", status))
    end
    local cr = h["content-range"] or ""
    local first, last, total = cr:match("^bytes%s+(%d+)%-(%d+)/(%d+)")
    first, last, total = tonumber(first), tonumber(last), tonumber(total)
    if first ~= ch.pos then
      return bad(("asked for byte %d but the server sent Content-Range %q"):format(ch.pos, cr))
    end
    if self.total and total and total ~= self.total then
      return bad("the result's size changed between requests")
    end
    self.total = self.total or total
    if ch.b and self.total and ch.b > self.total - 1 then ch.b = self.total - 1 end
    local want = last_byte(self, ch)
    if want and last ~= want then
      return bad(("asked for bytes %d-%d but the server sent Content-Range %q"):format(ch.pos, want, cr))
    end
    if self.etag and h["etag"] and h["etag"] ~= self.etag then
      return bad("the result changed between requests (another ETag)")
    end
    if not self.etag then self.etag = h["etag"] end
  else
    self.etag = h["etag"]
    local total = (h["content-range"] or ""):match("/(%d+)$")
    self.total = tonumber(total) or tonumber(h["content-length"])
  end
  seg.checked = true
  return true
end

-- A chunk's request failed to start: back off (retryable) or raise.
function Source:failed(ch, err)
  ch.tries = ch.tries + 1
  if not err.retryable or ch.tries > self.client.max_retries then error(err, 0) end
  ch.state = "waiting"
  ch.retry_at = now() + (err.retry_after or http.backoff(self.client, ch.tries))
end

-- The chunk's running segment is done: count its bytes. Sets ch.state to
-- "complete", or to "waiting" (resume at ch.retry_at); raises when the
-- chunk cannot be resumed or has broken too often.
function Source:settle(ch)
  local seg = ch.segs[#ch.segs]
  local req = seg.req
  local ok, code, msg = req:result()
  local got = seg.start + req:bytes()
  ch.pos = got
  local last = last_byte(self, ch)
  if last == nil then
    if ok then ch.state = "complete" return end
  elseif got == last + 1 then
    ch.state = "complete"
    return
  elseif got > last + 1 then
    error(net(self, ("received %d bytes but the server announced %d"):format(got - ch.a, last + 1 - ch.a)), 0)
  end
  local why = ok and ("the connection closed after %d of %d bytes"):format(got, last + 1)
    or ("%s after %d bytes"):format(msg, got)
  if not self.etag then
    error(net(self, "the result download broke (" .. why .. ") and cannot be resumed: the server sent no ETag",
      { code = code }), 0)
  end
  ch.tries = ch.tries + 1
  if ch.tries > self.client.max_retries then
    error(net(self, ("the result download broke (%s); gave up after %d resumes"):format(why, ch.tries - 1),
      { code = code }), 0)
  end
  ch.state = "waiting"
  ch.retry_at = now() + http.backoff(self.client, ch.tries)
end

-- Block until the chunk is complete or its last segment is checked,
-- (re)starting it as needed and sleeping through backoffs.
function Source:ready(ch)
  while ch.state ~= "complete" do
    if ch.state == "waiting" then
      local d = ch.retry_at - now()
      if d > 0 then async.sleep(d) end
      self:start_segment(ch)
    elseif ch.state == "new" then
      self:start_segment(ch)
    end
    local seg = ch.segs[#ch.segs]
    if seg.checked then return end
    if answered(seg.req) then
      local r, err = self:verify(ch, seg)
      if r then return end
      if r == false then self:failed(ch, err) else async.await(seg.req) end
    else
      async.await(seg.req)
    end
  end
end

--- Keep the parallel window going: check answers and settle finished
-- chunks ahead of the consumer, restart broken ones whose backoff is over,
-- start new ones. Never waits.
function Source:pump()
  if self.deciding then self:decide() end
  if self.connections < 2 then return end
  local t = now()
  for k = self.cur + 1, self.started do
    local ch = self.chunks[k]
    if ch.state == "running" then
      local seg = ch.segs[#ch.segs]
      if not seg.checked and answered(seg.req) then
        local r, err = self:verify(ch, seg)
        if r == false then self:failed(ch, err) end
      end
      if seg.checked and seg.req:done() then self:settle(ch) end
    end
    if ch.state == "waiting" and t >= ch.retry_at then self:start_segment(ch) end
  end
  local limit = math.min(self.n, self.cur + self.connections - 1)
  while self.started < limit do
    self.started = self.started + 1
    local k = self.started
    local a = self.base + (k - 2) * self.chunk_size
    local ch = new_chunk(a, math.min(a + self.chunk_size, self.total) - 1)
    self.chunks[k] = ch
    self:start_segment(ch)
  end
end

--- parallel = "auto", while the first request runs: once it has been
-- watched long enough, either let it carry the whole result or cut it
-- short and fetch the rest in parallel (see the top of this file).
function Source:decide()
  local ch = self.chunks[1]
  if not ch or ch.state ~= "running" or self.cur ~= 1 then
    self.deciding = false
    return
  end
  local seg = ch.segs[#ch.segs]
  local got = seg.start + seg.req:bytes()
  local secs = now() - self.t_first
  if secs < M.DECIDE_AFTER or got < M.PROBE_SIZE then return end
  self.deciding = false
  self.probe_rate = got / secs
  self.wait_share = self.waited / secs
  if self.probe_rate >= M.FAST_RATE or self.wait_share < 0.5 then return end
  -- link-bound: cut the first request a little ahead of what it delivered
  local cut = got + M.MIN_CHUNK_SIZE
  local rest = self.total - cut
  if rest < 2 * M.MIN_CHUNK_SIZE or not seg.req:stop_at(cut - seg.start) then return end
  ch.b = cut - 1
  self.base = cut
  local per = -(-rest // (self.parallel_max * 2))
  self.chunk_size = math.max(M.MIN_CHUNK_SIZE, math.min(self.chunk_size, per))
  self.n = 1 + (rest + self.chunk_size - 1) // self.chunk_size
  self.connections = self.parallel_max
  self.high_water = self.chunk_size + 65536 -- chunks ahead are buffered whole
end

--- Wait for news of req (the consumer has drained it), counting the time
-- spent waiting (Source:decide weighs it).
function Source:await(req)
  local t0 = now()
  async.await(req)
  self.waited = self.waited + (now() - t0)
end

--- The first request to read from.
function Source:first()
  self.t_first, self.waited = now(), 0
  local ch
  if self.adaptive then
    -- one open-ended ranged request (bytes=0-), watched (Source:decide)
    ch = new_chunk(0, nil)
    ch.ranged = true
    self.probing = true
  elseif self.connections > 1 then
    ch = new_chunk(0, self.chunk_size - 1)
    self.high_water = self.chunk_size + 65536 -- a chunk is buffered whole
    self.probing = true
  else
    ch = new_chunk(0, nil)
  end
  self.chunks[1], self.cur, self.started, self.seg_i = ch, 1, 1, 1
  local ok, err = pcall(self.ready, self, ch)
  self.probing = false
  if not ok then error(err, 0) end
  if self.adaptive then
    if self.connections == 1 or not self.etag or not self.total then
      self.connections = 1 -- no ranges, no ETag or another size: one connection
    else
      self.parallel_max, self.connections = self.connections, 1
      self.deciding = true
    end
  elseif self.connections > 1 then
    if not self.etag then
      -- without an ETag the chunks could not be checked to belong to the
      -- same result: start over with one plain request
      ch.segs[1].req:cancel()
      self.connections, self.n = 1, 1
      self.high_water = nil
      ch = new_chunk(0, nil)
      self.chunks[1] = ch
      self:ready(ch)
    else
      self.base = math.min(ch.b + 1, self.total)
      self.n = 1 + (self.total - self.base + self.chunk_size - 1) // self.chunk_size
      if self.n <= 1 then self.connections = 1 end
      self:pump()
    end
  end
  self.req = ch.segs[1].req
  return self.req
end

--- The request that follows the current one, which is done and drained;
-- nil at the end of the result.
function Source:next()
  local ch = self.chunks[self.cur]
  if self.seg_i == #ch.segs and ch.state == "running" then self:settle(ch) end
  self:ready(ch)
  if self.seg_i < #ch.segs then
    self.seg_i = self.seg_i + 1
    self.req = ch.segs[self.seg_i].req
    return self.req
  end
  -- the chunk is complete and consumed
  self.deciding = false
  self.done_bytes = self.done_bytes + (ch.pos - ch.a)
  self.chunks[self.cur] = false
  self.cur = self.cur + 1
  if self.cur > self.n then
    self.req = nil
    return nil
  end
  self:pump()
  local nch = self.chunks[self.cur]
  self:ready(nch)
  self.seg_i = 1
  self.req = nch.segs[1].req
  return self.req
end

--- Stop every transfer (idempotent).
function Source:close()
  for _, ch in pairs(self.chunks) do
    if ch then
      for _, seg in ipairs(ch.segs) do seg.req:cancel() end
    end
  end
  self.req = nil
end

--- A source of the result bytes of a finished job. opts: parallel,
-- chunk_size, parallel_threshold, size (the result size TD reported).
-- Fields after first(): total, etag, connections, requests.
function M.source(client, job_id, opts)
  opts = opts or {}
  local conns, chunk, adaptive = M.plan(opts, opts.size)
  return setmetatable({
    client = client, job_id = job_id, connections = conns, chunk_size = chunk, adaptive = adaptive,
    chunks = {}, n = 1, cur = 1, started = 0, seg_i = 1, requests = 0, done_bytes = 0,
  }, Source)
end

-- ---------------------------------------------------------------------------
-- consumers

--- Open a finished job's result for decoding: returns the decoder (a
-- td.core.decoder of rows), refill(decoder) (waits for more bytes, moves
-- on to the next request, or finishes the decoder at the end), a closer
-- (a to-be-closed value that releases every transfer) and the source.
-- opts as for M.stream.
function M.decode(client, job_id, opts)
  opts = opts or {}
  local src = M.source(client, job_id, opts)
  local dec = core.decoder { gzip = true, rows = true, keys = opts.keys }
  local ok, first = pcall(src.first, src)
  if not ok then
    src:close()
    error(first, 0)
  end
  dec:source(first)

  local function refill(d)
    local req = src.req
    if not req:done() then
      src:await(req)
      src:pump()
      return
    end
    -- the decoder has drained everything this request delivered
    local nxt = src:next()
    if nxt then d:source(nxt) else d:finish() end
  end

  local closer = setmetatable({}, { __close = function() src:close() end })
  return dec, refill, closer, src
end

--- Stream the rows of a finished job. opts.keys = column names to get maps
-- (records) instead of arrays; opts.parallel/chunk_size/parallel_threshold/
-- size as for M.source. Returns iterator, nil, nil, closer for a generic
-- for (`break` releases every transfer through the closer), then the
-- decoder and the source. A stream that is not rows, or ends inside one,
-- raises a `corrupt` or `truncated` error.
function M.stream(client, job_id, opts)
  local dec, refill, closer, src = M.decode(client, job_id, opts)
  return dec:iter(refill), nil, nil, closer, dec, src
end

--- Copy the raw msgpack.gz bytes of a finished job to sink(str), with the
-- same resume and parallel rules as M.stream. Returns the byte count and
-- the source.
function M.copy(client, job_id, sink, opts)
  local src = M.source(client, job_id, opts)
  local ok, err = pcall(function()
    local req = src:first()
    local n = 0
    while req do
      local s = req:read()
      if s then
        sink(s)
        n = n + #s
      elseif not req:done() then
        src:await(req)
        src:pump()
      else
        req = src:next()
      end
    end
    return n
  end)
  src:close()
  if not ok then error(err, 0) end
  return err, src
end

return M
