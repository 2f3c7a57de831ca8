--- td.result: streaming a job's result through the C decoder.
-- GET /v3/job/result/<id>?format=msgpack.gz is read as a stream: libcurl
-- fills a bounded buffer (the transfer pauses while it is full), the C
-- iterator inflates and decodes rows straight onto the Lua stack. A broken
-- transfer resumes with `Range: bytes=N-` + `If-Range: <ETag>` and must get
-- 206 at exactly byte N; bytes are counted on the wire and checked against
-- Content-Length / Content-Range, so a row is never yielded twice and the
-- tail is never silently dropped.
local core = require "td.core"
local async = require "td.async"
local errors = require "td.errors"
local http = require "td.http"

local M = {}

local function net(st, msg, fields)
  local e = { kind = "network", job_id = st.job_id, message = msg, retryable = false }
  for k, v in pairs(fields or {}) do e[k] = v end
  return errors.new(e)
end

-- Start (or resume) the transfer. Returns the request or nil, err.
local function open(st)
  local r = {
    path = http.path("/v3/job/result/%s", st.job_id),
    query = { format = "msgpack.gz" },
    accept = "*/*",
  }
  if st.offset > 0 then
    r.headers = { "Range: bytes=" .. st.offset .. "-", "If-Range: " .. st.etag }
  end
  local req, err = http.open_stream(st.client, r)
  if not req then
    err.job_id = st.job_id
    return nil, err
  end
  local h, status = req:headers(), req:status()
  if st.offset > 0 then
    if status ~= 206 then
      req:cancel()
      return nil, net(st, ("resuming the result at byte %d got HTTP %d instead of 206 Partial Content (the result changed or the server ignored the range)")
        :format(st.offset, status))
    end
    local first, total = (h["content-range"] or ""):match("^bytes%s+(%d+)%-%d+/(%d+)")
    if tonumber(first) ~= st.offset then
      req:cancel()
      return nil, net(st, ("resume asked for byte %d but the server sent Content-Range %q")
        :format(st.offset, h["content-range"] or ""))
    end
    if total and st.total and tonumber(total) ~= st.total then
      req:cancel()
      return nil, net(st, "the result's size changed between requests")
    end
  else
    st.etag = h["etag"]
    if h["content-encoding"] and h["content-encoding"] ~= "identity" then
      req:cancel()
      return nil, net(st, "unexpected Content-Encoding " .. h["content-encoding"] .. " on a msgpack.gz result")
    end
    local total = (h["content-range"] or ""):match("/(%d+)$")
    st.total = tonumber(total) or tonumber(h["content-length"])
  end
  st.base = st.offset
  return req
end

-- open() with the client's retry policy for retryable failures
local function open_retrying(st)
  while true do
    local req, err = open(st)
    if req then return req end
    st.tries = st.tries + 1
    if not err.retryable or st.tries > st.client.max_retries then error(err, 0) end
    async.sleep(err.retry_after or http.backoff(st.client, st.tries))
  end
end

--- Stream the rows of a finished job. opts.keys = column names to get maps
-- (records) instead of arrays. Returns iterator, nil, nil, closer for a
-- generic for; `break` releases the transfer through the closer.
function M.stream(client, job_id, opts)
  opts = opts or {}
  local st = { client = client, job_id = job_id, offset = 0, tries = 0 }
  local dec = core.decoder { gzip = true, keys = opts.keys }
  st.req = open_retrying(st)
  dec:source(st.req)

  local function refill(d)
    local req = st.req
    if not req:done() then
      async.await(req)
      return
    end
    -- the decoder has drained everything this request delivered
    local ok, code, msg = req:result()
    local got = st.base + req:bytes()
    st.offset = got
    if ok and (st.total == nil or got == st.total) then
      d:finish()
      return
    end
    if ok and got > st.total then
      error(net(st, ("received %d bytes but the server announced %d"):format(got, st.total)), 0)
    end
    local why = ok and ("the connection closed after %d of %d bytes"):format(got, st.total)
      or ("%s after %d bytes"):format(msg, got)
    if not st.etag then
      error(net(st, "the result download broke (" .. why .. ") and cannot be resumed: the server sent no ETag",
        { code = code }), 0)
    end
    st.tries = st.tries + 1
    if st.tries > client.max_retries then
      error(net(st, ("the result download broke (%s); gave up after %d resumes"):format(why, st.tries - 1),
        { code = code }), 0)
    end
    async.sleep(http.backoff(client, st.tries))
    local nreq = open_retrying(st)
    st.req = nreq
    d:source(nreq)
  end

  local closer = setmetatable({}, {
    __close = function()
      if st.req then st.req:cancel() end
    end,
  })
  return dec:iter(refill), nil, nil, closer, dec
end

return M
