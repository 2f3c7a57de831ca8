--- td.v3.import: streaming import of records into a table.
-- Records (Lua tables with string keys and an integer `time`) are encoded to
-- msgpack and gzip-compressed in C as they come (td.core.packer), cut into
-- chunks and uploaded one chunk at a time with
-- PUT /v3/table/import_with_id/<db>/<table>/<unique id>/msgpack.gz.
-- Each chunk has its own unique id, `<unique_id>-<chunk number>`, so TD
-- ignores a chunk it has already stored: every PUT can be retried safely,
-- and re-running the same import with the same unique_id imports nothing
-- twice.
--
-- Chunk boundaries depend only on the rows (their uncompressed msgpack
-- size and order) and chunk_size, never on compression or on the order in
-- which Lua happens to iterate a record's keys, so a re-run cuts the same
-- chunks and gets the same ids.
local core = require "td.core"
local errors = require "td.errors"
local http = require "td.http"
local args = require "td.v3.args"

local M = {}

local usage = args.usage
local pcall, type = pcall, type

-- uncompressed msgpack bytes per chunk: typical rows compress 5x or more, so a
-- chunk is about 1 MiB on the wire
local DEFAULT_CHUNK_SIZE = 5 * 1024 * 1024

--- A fresh unique id: 32 hex digits (td.submit: the journal's inside a
-- journaled step, so a re-run uploads under the same ids and TD keeps one
-- copy of each chunk).
local function new_unique_id()
  return require("td.submit").key(nil, "import")
end

local function check_unique_id(fname, argname, v)
  args.name(fname, argname, v)
  if #v > 128 or not v:match("^[%w_%-]+$") then
    usage(("%s: %s must be 1 to 128 letters, digits, '_' or '-' (got %q)"):format(fname, argname, v))
  end
  return v
end

local function check_rows(fname, rows)
  local t = type(rows)
  if t == "function" then return end
  if t ~= "table" then
    usage(("bad argument 'rows' to '%s' (array of records or iterator function expected, got %s)")
      :format(fname, rows == nil and "no value" or t))
  end
  if rows[1] == nil then
    local k = next(rows)
    if k ~= nil then
      usage(("%s: rows must be an array of records, not one record (found key %q; wrap it: {record})")
        :format(fname, tostring(k)))
    end
  end
end

local function put_chunk(client, db, tbl, uid, body, records)
  local path = uid and http.path("/v3/table/import_with_id/%s/%s/%s/msgpack.gz", db, tbl, uid)
    or http.path("/v3/table/import/%s/%s/msgpack.gz", db, tbl)
  return http.request(client, {
    method = "PUT", path = path, body = body, content_type = "application/octet-stream",
    idempotent = uid ~= nil, -- TD stores a unique id once: a retried PUT cannot duplicate rows
    describe = function()
      return ("import %s into %s.%s (%d bytes of msgpack.gz%s)"):format(
        records and (records .. " records") or "pre-encoded records", db, tbl, #body, uid and (", unique id " .. uid) or "")
    end,
  })
end

-- Encode and upload. base: the unique id the chunk ids derive from, or
-- nil for plain (not deduplicated) imports.
local function run(client, fname, db, tbl, rows, base, chunk_size)
  local started = core.now()
  local p <close> = core.packer { gzip = true, require_time = true }
  local sum = {
    database = db, table = tbl, records = 0, chunks = 0, bytes = 0, raw_bytes = 0,
    unique_id = base, unique_ids = {},
  }

  local function flush()
    local _, raw = p:bytes()
    local body = p:finish()
    if not body then return end
    local n = sum.chunks + 1
    local uid = base and (base .. "-" .. n)
    local ok, err = pcall(put_chunk, client, db, tbl, uid, body, select(2, p:count()) - sum.records)
    if not ok then
      if errors.is(err) then -- say how far the import got
        err.imported_records, err.imported_chunks = sum.records, sum.chunks
      end
      error(err, 0)
    end
    sum.chunks = n
    sum.bytes = sum.bytes + #body
    sum.raw_bytes = sum.raw_bytes + raw
    sum.unique_ids[n] = uid
    sum.records = select(2, p:count())
  end

  local add = p.add
  local function bad_record(err)
    local done = sum.records
    errors.raise {
      kind = "usage", imported_records = done, imported_chunks = sum.chunks,
      message = ("%s: %s%s"):format(fname, tostring(err),
        done > 0 and (" (%d records in %d chunks were imported before it)"):format(done, sum.chunks) or ""),
    }
  end

  if type(rows) == "table" then
    for i = 1, #rows do
      local ok, size = pcall(add, p, rows[i])
      if not ok then bad_record(size) end
      if size >= chunk_size then flush() end
    end
  else
    while true do
      local okr, rec = pcall(rows)
      if not okr then -- the iterator failed: say how far the import got
        if errors.is(rec) then rec.imported_records, rec.imported_chunks = sum.records, sum.chunks end
        error(rec, 0)
      end
      if rec == nil then break end
      local ok, size = pcall(add, p, rec)
      if not ok then bad_record(size) end
      if size >= chunk_size then flush() end
    end
  end
  flush()
  sum.elapsed = core.now() - started
  return sum
end

local IMPORT_OPTS = { unique_id = true, chunk_size = true }

local function chunk_size_of(fname, opts)
  local cs = opts.chunk_size
  if cs == nil then return DEFAULT_CHUNK_SIZE end
  if math.type(cs) ~= "integer" or cs < 1 then
    usage(("%s: chunk_size must be a positive integer (bytes of msgpack per chunk)"):format(fname))
  end
  return cs
end

--- client:import(db, table, rows, {unique_id =, chunk_size =}) -> summary
-- Imports records into an existing table. `rows` is an array of records or
-- an iterator function returning one record per call and nil at the end
-- (job:records(), a generator, ...). A record is a table with string keys
-- and an integer `time` (unix seconds; a float with an integral value is
-- accepted). Values: integers, floats, strings (sent as raw bytes),
-- booleans, td.null (nil), nested arrays and maps.
-- unique_id: the base of the chunk ids `<unique_id>-1`, `-2`, ... (letters,
-- digits, '_' and '-'); a random one is generated when absent. Pass the same
-- unique_id again to re-run an import without duplicating what an earlier
-- run stored. unique_id = false uses the plain /v3/table/import (no
-- deduplication, and a failed PUT is not retried).
-- chunk_size: uncompressed msgpack bytes per chunk (default 5 MiB, about
-- 1 MiB compressed for typical rows).
-- Returns {database, table, records, chunks, bytes (compressed, sent),
-- raw_bytes, unique_id, unique_ids = {per chunk}, elapsed}.
-- A bad record raises a usage error naming its number; chunks before it
-- stay imported. Errors carry err.imported_records and err.imported_chunks
-- (what was stored before the failure).
function M:import(db, tbl, rows, opts)
  args.name("import", "db", db)
  args.name("import", "table", tbl)
  check_rows("import", rows)
  opts = args.opts("import", opts, IMPORT_OPTS)
  local uid = opts.unique_id
  if uid == nil then
    uid = new_unique_id()
  elseif uid ~= false then
    check_unique_id("import", "opts.unique_id", uid)
  else
    uid = nil
  end
  return run(self, "import", db, tbl, rows, uid, chunk_size_of("import", opts))
end

--- client:import_with_id(db, table, unique_id, rows, {chunk_size =, data =})
-- -> summary. The explicit form of import{unique_id = ...}: chunks are
-- uploaded as `<unique_id>-1`, `-2`, ... With rows = nil and opts.data (a
-- msgpack.gz string the caller encoded), that body is uploaded as it is,
-- in one PUT with unique_id itself as the id.
function M:import_with_id(db, tbl, unique_id, rows, opts)
  args.name("import_with_id", "db", db)
  args.name("import_with_id", "table", tbl)
  check_unique_id("import_with_id", "unique_id", unique_id)
  opts = args.opts("import_with_id", opts, { chunk_size = true, data = true })
  if rows == nil and opts.data ~= nil then
    if type(opts.data) ~= "string" then
      usage(("bad argument 'opts.data' to 'import_with_id' (string expected, got %s)"):format(type(opts.data)))
    end
    local started = core.now()
    local d = put_chunk(self, db, tbl, unique_id, opts.data)
    return {
      database = db, table = tbl, chunks = 1, bytes = #opts.data, unique_id = unique_id,
      unique_ids = { unique_id }, md5_hex = d.md5_hex, elapsed = core.now() - started,
    }
  end
  check_rows("import_with_id", rows)
  return run(self, "import_with_id", db, tbl, rows, unique_id, chunk_size_of("import_with_id", opts))
end

return M
