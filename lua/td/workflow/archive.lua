--- td.workflow.archive: project archives - push a directory, download one.
-- push builds the tar.gz in-process (td.workflow.tar + td.core.gzip), leaves
-- out dotfiles as digdag does, lists the directory without a shell
-- (td.core.listdir), and sends PUT /api/projects: the server judges the
-- size (TD documents a 10 MB project archive limit; its refusal becomes a
-- `too_large` error naming it; `max_size` sets a limit checked before
-- uploading). download fetches GET
-- /api/projects/{id}/archive, follows the redirect to the storage host
-- without the API key, and extracts only entries that stay inside the
-- target directory: absolute paths, ".." and links pointing out are
-- refused before anything is written. Links that stay inside are written
-- as copies of their target, so extraction never creates a symlink. An
-- archive may expand to at most MAX_UNPACKED bytes (a generous multiple of
-- TD's limit): a gzip bomb is refused, never held in memory.
local core = require "td.core"
local errors = require "td.errors"
local http = require "td.http"
local base = require "td.workflow.base"
local tar = require "td.workflow.tar"

local M = {}

-- TD's project archive limit ("Treasure Workflow prerequisites and
-- limitations": 10 MB); the server's answer is the judge, this only names it
M.TD_LIMIT = 10 * 1000 * 1000
-- what a downloaded archive may expand to
M.MAX_UNPACKED = 20 * M.TD_LIMIT
-- directories deeper than this are a link loop (find -L's ELOOP)
local MAX_DEPTH = 64

local function is_dir(path)
  return core.target(path) == "dir"
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise { kind = "io", message = "cannot read " .. tostring(err) } end
  local s = f:read("a")
  f:close()
  return s
end

local function listdir(path)
  local entries, err = core.listdir(path)
  if not entries then errors.raise { kind = "io", message = "cannot list " .. tostring(err) } end
  return entries
end

local function check_path(fname, path)
  if type(path) == "string" and path:find("\0", 1, true) then
    errors.raise { kind = "usage", message = ("%s: a path with a NUL byte: %q"):format(fname, path) }
  end
end

--- The files of a project directory: { {name =, data =, mode =}, ... } sorted
-- by name. Dotfiles and dot-directories are left out; links are followed.
-- The directory is walked in-process (no shell: any byte but NUL and "/"
-- may be in a name).
function M.collect(dir)
  check_path("push", dir)
  if not is_dir(dir) then
    errors.raise { kind = "usage", message = ("push: %s is not a directory"):format(dir) }
  end
  local files = {}
  local function walk(abs, rel, depth)
    if depth > MAX_DEPTH then
      errors.raise { kind = "io", message = ("push: %s is nested too deeply (a symbolic link loop?)"):format(abs) }
    end
    for _, e in ipairs(listdir(abs)) do
      if e.name:sub(1, 1) ~= "." then
        local p, r = abs .. "/" .. e.name, rel == "" and e.name or (rel .. "/" .. e.name)
        local kind, _, mode = core.target(p) -- follows links, as find -L
        if kind == "dir" then
          walk(p, r, depth + 1)
        elseif kind == "file" then
          files[#files + 1] = { name = r, data = read_file(p), mode = (mode or 0) & 64 ~= 0 and 493 or 420 }
        end
      end
    end
  end
  walk((dir:gsub("(.)/+$", "%1")), "", 0)
  table.sort(files, function(a, b) return a.name < b.name end)
  return files
end

--- Build the project tar.gz from a directory or a table {path = content}.
-- Returns the gzip bytes and the file list.
function M.build(src, opts)
  local files
  if type(src) == "table" then
    files = {}
    for name, data in pairs(src) do
      if type(name) ~= "string" or type(data) ~= "string" then
        errors.raise { kind = "usage", message = "bad argument 'dir' to 'push' (a directory or a table of path = content strings expected)" }
      end
      files[#files + 1] = { name = name, data = data }
    end
    table.sort(files, function(a, b) return a.name < b.name end)
  else
    files = M.collect(src)
  end
  -- no limit of its own unless max_size is given: the server judges
  local limit = opts.max_size or math.huge
  local total, digs = 0, 0
  local now = os.time()
  for _, f in ipairs(files) do
    if f.name:sub(1, 1) == "/" or ("/" .. f.name .. "/"):find("/../", 1, true) then
      errors.raise { kind = "usage", message = ("push: bad path in project: %s"):format(f.name) }
    end
    f.mtime = now
    total = total + #f.data
    if #f.data > limit then
      errors.raise { kind = "too_large", message = ("push: %s is %d bytes; the workflow server accepts at most %d bytes per file"):format(f.name, #f.data, limit) }
    end
    if f.name:match("^[^/]+%.dig$") then digs = digs + 1 end
  end
  if total > limit then
    errors.raise { kind = "too_large", message = ("push: the project's files total %d bytes; the workflow server accepts at most %d bytes"):format(total, limit),
      hint = "leave large data out of the project directory (files starting with '.' are not sent)" }
  end
  if digs == 0 then
    errors.raise { kind = "usage", message = "push: no workflow (*.dig file) at the top of the project" }
  end
  local gz = core.gzip(tar.pack(files), 9)
  if #gz > limit then
    errors.raise { kind = "too_large", message = ("push: the archive is %d bytes compressed; the workflow server accepts at most %d bytes"):format(#gz, limit) }
  end
  return gz, files
end

--- client.workflow:push (see td/workflow/init.lua).
function M.push(client, name, src, opts)
  local gz = M.build(src, opts)
  local generated = opts.revision == nil
  local revision = opts.revision or base.uuid()
  local clear = opts.clear_schedule
  local query = {
    project = name, revision = revision, skip_schedule = opts.skip_schedule,
    schedule_from = opts.schedule_from ~= nil and base.instant("push", "schedule_from", opts.schedule_from) or nil,
  }
  if clear == true then
    query.clear_schedule_all = true
  elseif type(clear) == "string" then
    query.clear_schedule = { clear }
  elseif type(clear) == "table" then
    query.clear_schedule = clear
  elseif clear ~= nil then
    errors.raise { kind = "usage", message = "bad argument 'clear_schedule' to 'push' (true, a workflow name or a list of names expected)" }
  end
  local ok, d, resp = pcall(base.request, client, {
    method = "PUT", path = "/api/projects", query = query, body = gz, content_type = "application/gzip",
    idempotent = true, -- a repeat of the same revision is refused (409), never stored twice
    identity = { revision = revision },
    describe = ("push project %s as revision %s (%d bytes of archive)"):format(name, revision, #gz),
  })
  if not ok then
    local e = d
    local m = type(e) == "table" and tostring(e.message or ""):lower() or ""
    if (errors.is(e, "bad_request") or (type(e) == "table" and e.status == 413))
      and (m:find("size", 1, true) or m:find("too large", 1, true) or e.status == 413) then
      base.reraise(e, { kind = "too_large",
        message = ("push: the workflow server refused the %d-byte archive of %s as too large (%s)"):format(#gz, name, e.message),
        hint = "TD accepts project archives up to 10 MB; leave large data out of the project directory (files starting with '.' are not sent)" })
    end
    if errors.is(e, "conflict") then
      -- after a try that may have got through, the revision is the
      -- identity: a fresh name can only be ours; a given one is ours when
      -- it is the project's current revision
      if e.maybe_sent then
        local pok, p = pcall(client.workflow.project, client.workflow, name)
        if pok and p and p.revision == revision then return p end
        if generated and pok then return p end
      end
      base.reraise(e, { message = ("project %s already has a revision %q (%s)"):format(name, revision, e.message),
        hint = "give another revision name, or leave it out for a fresh one" })
    end
    error(e, 0)
  end
  if resp.dry_run then return nil end
  return require("td.workflow.project").wrap(client, d)
end

local REDIRECT = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local function resolve(url, loc)
  if loc:match("^%a[%w+.-]*://") then return loc end
  local origin = url:match("^(%a[%w+.-]*://[^/]+)")
  if loc:sub(1, 1) == "/" then return origin .. loc end
  return (url:gsub("[^/]*$", "")) .. loc
end

--- The gzip bytes of a project archive, following redirects without auth.
function M.fetch(client, pid, opts)
  local ok_codes = {}
  for k in pairs(REDIRECT) do ok_codes[#ok_codes + 1] = k end
  local body, resp = base.request(client, {
    path = base.path("/api/projects/%s/archive", pid), query = { revision = opts.revision },
    raw = true, accept = "application/gzip, */*", ok = ok_codes,
  })
  local url = client:_workflow_base() .. base.path("/api/projects/%s/archive", pid)
  local hops = 0
  while REDIRECT[resp.status] do
    hops = hops + 1
    local loc = resp.headers.location
    if not loc or hops > 5 then
      errors.raise { kind = "http", status = resp.status, message = "archive download: too many redirects or a redirect without Location" }
    end
    url = resolve(url, loc)
    -- the storage host gets no API key: auth = false
    body, resp = http.request(client, {
      method = "GET", url = url, auth = false, raw = true, accept = "application/gzip, */*", ok = ok_codes, idempotent = true,
    })
  end
  return body
end

local function unsafe(name, why)
  errors.raise { kind = "unsafe_archive", message = ("refusing archive entry %q: %s"):format(name, why) }
end

--- Normalise an archive path; nil when it leaves the root.
local function norm(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return table.concat(parts, "/")
end

--- Check every entry and plan the writes: { dirs = {...}, files = { {name, data, mode} } }.
function M.plan(entries)
  local files, dirs, links = {}, {}, {}
  for _, e in ipairs(entries) do
    local raw = e.name
    if raw:sub(1, 1) == "/" or raw:match("^%a:[\\/]") then unsafe(raw, "absolute path") end
    if ("/" .. raw:gsub("\\", "/") .. "/"):find("/../", 1, true) then unsafe(raw, "path with '..'") end
    local name = norm(raw)
    if not name then unsafe(raw, "path outside the directory") end
    if e.type == "dir" then
      if name ~= "" then dirs[#dirs + 1] = name end
    elseif e.type == "file" then
      if name == "" then unsafe(raw, "empty name") end
      files[name] = { name = name, data = e.data, mode = e.mode }
    elseif e.type == "symlink" or e.type == "hardlink" then
      local target = e.linkname or ""
      if target:sub(1, 1) == "/" then unsafe(raw, "link to an absolute path " .. target) end
      local full
      if e.type == "symlink" then
        local dir = name:match("^(.*)/[^/]*$") or ""
        full = norm(dir ~= "" and (dir .. "/" .. target) or target)
      else
        full = norm(target)
      end
      if not full or full == "" then unsafe(raw, "link pointing outside the directory: " .. target) end
      links[#links + 1] = { name = name, target = full, raw = raw }
    else
      unsafe(raw, "not a file, directory or link")
    end
  end
  -- links inside the tree become copies of what they point at
  for _ = 1, #links do
    local progress = false
    for _, l in ipairs(links) do
      if not files[l.name] and files[l.target] then
        files[l.name] = { name = l.name, data = files[l.target].data, mode = files[l.target].mode }
        progress = true
      end
    end
    if not progress then break end
  end
  local skipped = {}
  for _, l in ipairs(links) do
    if not files[l.name] then skipped[#skipped + 1] = l.name end
  end
  local list = {}
  for _, f in pairs(files) do list[#list + 1] = f end
  table.sort(list, function(a, b) return a.name < b.name end)
  return { dirs = dirs, files = list, skipped = skipped }
end

-- the symbolic links under dir (relative names), links not followed
local function existing_links(dir)
  if not is_dir(dir) then return {} end
  local set = {}
  local function walk(abs, rel, depth)
    if depth > MAX_DEPTH then return end
    for _, e in ipairs(listdir(abs)) do
      local r = rel == "" and e.name or (rel .. "/" .. e.name)
      if e.kind == "link" then set[r] = true
      elseif e.kind == "dir" then walk(abs .. "/" .. e.name, r, depth + 1) end
    end
  end
  walk(dir, "", 0)
  return set
end

-- mkdir -p, without a shell
local function mkdirs(path)
  local sofar = path:sub(1, 1) == "/" and "" or "."
  for seg in path:gmatch("[^/]+") do
    sofar = sofar .. "/" .. seg
    local ok, err = core.mkdir(sofar)
    if not ok then errors.raise { kind = "io", message = "cannot create the directory " .. tostring(err) } end
  end
end

local function through_link(links, name)
  local path = ""
  for seg in name:gmatch("[^/]+") do
    path = path == "" and seg or (path .. "/" .. seg)
    if links[path] then return path end
  end
  return nil
end

--- Extract checked entries into dir. Returns the list of written files.
function M.extract(gz, dir)
  check_path("download", dir)
  local ok, plain, why = pcall(core.gunzip, gz, M.MAX_UNPACKED)
  if not ok then errors.raise { kind = "bad_archive", message = "the project archive is not valid gzip data" } end
  if not plain then
    errors.raise { kind = "too_large", message = ("the project archive (%d bytes) %s: refused as a likely gzip bomb"):format(#gz, why),
      hint = ("a project archive may expand to %d bytes (TD's limit is 10 MB compressed)"):format(M.MAX_UNPACKED) }
  end
  local plan = M.plan(tar.unpack(plain))
  local links = existing_links(dir)
  for _, f in ipairs(plan.files) do
    local l = through_link(links, f.name)
    if l then unsafe(f.name, ("%s/%s is a symbolic link already"):format(dir, l)) end
  end
  mkdirs(dir)
  for _, d in ipairs(plan.dirs) do mkdirs(dir .. "/" .. d) end
  for _, f in ipairs(plan.files) do
    local parent = f.name:match("^(.*)/[^/]*$")
    if parent then mkdirs(dir .. "/" .. parent) end
  end
  local written = {}
  for _, f in ipairs(plan.files) do
    local path = dir .. "/" .. f.name
    local out, err = io.open(path, "wb")
    if not out then errors.raise { kind = "io", message = "cannot write " .. tostring(err) } end
    out:write(f.data)
    out:close()
    written[#written + 1] = f.name
    if f.mode and f.mode & 73 ~= 0 then core.chmod(path, 493) end -- 0111: executable
  end
  return written, plan.skipped
end

--- client.workflow:download (see td/workflow/init.lua).
function M.download(client, pid, target, opts)
  local gz = M.fetch(client, pid, opts)
  if target:match("%.tar%.gz$") or target:match("%.tgz$") then
    local f, err = io.open(target, "wb")
    if not f then errors.raise { kind = "io", message = "cannot write " .. tostring(err) } end
    f:write(gz)
    f:close()
    return { target }
  end
  return M.extract(gz, target)
end

return M
