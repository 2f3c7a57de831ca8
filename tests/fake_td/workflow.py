"""The Treasure Workflow API (digdag's server API under /api) of fake-td.

State (projects with revisions and archives, workflow definitions,
schedules, sessions, attempts with their tasks, secrets, pools and pool
rules) lives in one ``WfState`` object that ``reset`` rebuilds from the seed.
Times come from the v3 module's fake clock, so both APIs agree on "now".

Attempts of seeded history are frozen.  New attempts run their leaf tasks
one after another, one step per poll of ``GET /api/attempts/{id}``
(``wf_mode: polls``) or by elapsed time (``wf_mode: time``).  Failures are
requested with directives (``fail>`` tasks, ``fake_fail`` in a task or
workflow name, ``fake_fail`` / ``fake_fail_attempts`` / ``fake_stuck``
params); see README.md, section "Workflow API".

Errors use digdag's body ``{"message": "...", "status": N}``.
"""

import base64
import calendar
import datetime as dt
import gzip
import hashlib
import hmac
import io
import json
import re
import tarfile
import time
import uuid

from server import ApiError, Response, serve_bytes

try:
    import zoneinfo
except ImportError:  # pragma: no cover
    zoneinfo = None

try:
    import v3 as _v3
except ImportError:  # pragma: no cover
    _v3 = None

BASE_EPOCH = calendar.timegm((2026, 11, 22, 10, 0, 0))
MAX_ARCHIVE_SIZE = 10 * 1000 * 1000     # TD: "project archive limit 10 MB" (digdag OSS: 2 MiB)
MAX_PAGE_SIZE = 100
AGENT_ID = "4242@ip-10-0-12-34"
SIGN_KEY = b"fake-td-presign"
SERVER_VERSION = "0.10.5"
SECRET_KEY_RE = re.compile(r"^([a-zA-Z]|[a-zA-Z][a-zA-Z0-9_\-]*[a-zA-Z0-9])"
                           r"(\.([a-zA-Z]|[a-zA-Z][a-zA-Z0-9_\-]*[a-zA-Z0-9]))*$")
WORKFLOW_TYPES = ("ab_test", "audience", "customer_journey", "engage", "predictive_scoring",
                  "realtime", "segment_insights", "syndication")


# ---------------------------------------------------------------------------
# Errors


class WfError(ApiError):
    """digdag's error body: {"message": "...", "status": N}."""

    def response(self):
        resp = Response.json({"message": self.message or "", "status": self.status},
                             status=self.status)
        for k, v in self.headers.items():
            resp.headers.append((k, v))
        return resp


class BareNotFound(ApiError):
    """RESTEasy's own 404 (unconvertible path/query param): no JSON body."""

    def __init__(self):
        super().__init__(404, "")

    def response(self):
        return Response(404, b"", "text/html;charset=utf-8")


def not_found(what):
    return WfError(404, "Resource does not exist: %s" % what)


# ---------------------------------------------------------------------------
# Time helpers


def iso_instant(epoch):
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def iso_instant_frac(epoch):
    if epoch is None:
        return None
    e = float(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(e))) + \
        ".%03dZ" % int(round((e - int(e)) * 1000) % 1000)


def get_tz(name):
    if not name or name == "UTC" or zoneinfo is None:
        return dt.timezone.utc
    try:
        return zoneinfo.ZoneInfo(name)
    except Exception:
        return None


def offset_time(epoch, tzname):
    """'2026-11-22T00:00:00+09:00' in the workflow's time zone."""
    tz = get_tz(tzname) or dt.timezone.utc
    return dt.datetime.fromtimestamp(int(epoch), tz).isoformat()


def parse_instant(name, v):
    """An ISO date-time with Z or an offset -> epoch; 400 otherwise."""
    if not isinstance(v, str) or not v.strip():
        raise WfError(400, "%s is required" % name)
    s = v.strip()
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise WfError(400, "Invalid %s: '%s' (expected ISO date-time such as "
                      "2026-11-22T00:00:00Z)" % (name, v))
    if d.tzinfo is None:
        raise WfError(400, "Invalid %s: '%s' (time zone offset is required)" % (name, v))
    return int(d.timestamp())


def parse_local_or_offset(name, v, tzname):
    """ISO date-time with an offset, or a local 'yyyy-MM-dd[T ]HH:mm:ss' in tzname."""
    if not isinstance(v, str) or not v.strip():
        raise WfError(400, "%s is required" % name)
    s = v.strip()
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise WfError(400, "Invalid %s: '%s'" % (name, v))
    if d.tzinfo is None:
        d = d.replace(tzinfo=get_tz(tzname) or dt.timezone.utc)
    return int(d.timestamp())


def as_bool(v, default=False):
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def q_int(req, name, default=None):
    """A numeric query param; RESTEasy answers a bare 404 when it does not convert."""
    v = req.query.get(name)
    if isinstance(v, list):
        v = v[-1]
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise BareNotFound()


def path_id(v):
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise BareNotFound()
    return n


def page_size(req):
    n = q_int(req, "page_size", MAX_PAGE_SIZE)
    if n > MAX_PAGE_SIZE:
        raise WfError(400, "Your specified page_size is %d, but it is larger than "
                      "MAX_PAGE_SIZE %d. You must specify page_size with a number which "
                      "is smaller than %d." % (n, MAX_PAGE_SIZE, MAX_PAGE_SIZE + 1))
    return max(n, 0)


def desc_page(items, req):
    """Newest first, id < last_id, page_size (<= 100)."""
    size = page_size(req)
    last = q_int(req, "last_id")
    out = sorted(items, key=lambda x: -x.id)
    if last is not None:
        out = [x for x in out if x.id < last]
    return out[:size]


def json_body(req, required=True):
    if req.json is not None:
        body = req.json
    elif req.body:
        try:
            body = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise WfError(400, "Malformed JSON body: %s" % e)
    else:
        if required:
            raise WfError(400, "Request body is required")
        body = {}
    if not isinstance(body, dict):
        raise WfError(400, "Request body must be a JSON object")
    return body


def sign(*parts):
    return hmac.new(SIGN_KEY, "\0".join(str(p) for p in parts).encode(),
                    hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------
# A small YAML subset parser for *.dig files


class DigError(ValueError):
    pass


def _strip_comment(s):
    out, quote = [], None
    for i, c in enumerate(s):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def _split_key(s):
    """'key: value' -> (key, value) with ':' outside quotes; None when no key."""
    quote = None
    for i, c in enumerate(s):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"" and i == 0:
            quote = c
        elif c == ":" and (i + 1 == len(s) or s[i + 1] in " \t"):
            key = s[:i].strip()
            if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
                key = key[1:-1]
            return key, s[i + 1:].strip()
    return None


def _scalar(s):
    s = s.strip()
    if s == "":
        return None
    if len(s) >= 2 and s[0] == s[-1] == '"':
        try:
            return json.loads(s)
        except ValueError:
            return s[1:-1]
    if len(s) >= 2 and s[0] == s[-1] == "'":
        return s[1:-1].replace("''", "'")
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        return [_scalar(x) for x in inner.split(",")] if inner else []
    if s.startswith("{") and s.endswith("}"):
        out = {}
        for part in s[1:-1].split(","):
            kv = _split_key(part.strip())
            if kv:
                out[kv[0]] = _scalar(kv[1])
        return out
    low = s.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~"):
        return None
    if re.match(r"^[-+]?\d+$", s):
        return int(s)
    if re.match(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$", s):
        return float(s)
    return s


def parse_dig(text):
    """Parse the YAML subset used by .dig files into a dict (order kept)."""
    lines = []
    for no, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise DigError("line %d: tabs are not allowed for indentation" % no)
        stripped = _strip_comment(raw)
        if stripped.strip() == "" or stripped.strip() == "---":
            lines.append((no, None, raw))
            continue
        lines.append((no, len(stripped) - len(stripped.lstrip()), stripped.strip(), ))
    pos = [0]

    def next_content():
        while pos[0] < len(lines) and lines[pos[0]][1] is None:
            pos[0] += 1
        return lines[pos[0]] if pos[0] < len(lines) else None

    def block_scalar(indent, style):
        buf = []
        start = None
        while pos[0] < len(lines):
            no, ind, content = lines[pos[0]][:3]
            if ind is None:
                buf.append("")
                pos[0] += 1
                continue
            if ind <= indent:
                break
            raw = text.splitlines()[no - 1]
            if start is None:
                start = len(raw) - len(raw.lstrip())
            buf.append(raw[start:])
            pos[0] += 1
        while buf and buf[-1] == "":
            buf.pop()
        if style.startswith(">"):
            return " ".join(buf) + "\n"
        return "\n".join(buf) + "\n"

    def parse_block(indent):
        first = next_content()
        if first is None:
            return None
        if first[2].startswith("- ") or first[2] == "-":
            return parse_list(first[1])
        return parse_map(first[1])

    def parse_value(rest, indent):
        if rest in ("|", "|-", ">", ">-", "|+", ">+"):
            return block_scalar(indent, rest)
        if rest == "":
            nxt = next_content()
            if nxt is not None and nxt[1] > indent:
                return parse_block(nxt[1])
            if nxt is not None and nxt[1] == indent and nxt[2].startswith("-"):
                return parse_list(indent)
            return None
        return _scalar(rest)

    def parse_map(indent):
        out = {}
        while True:
            cur = next_content()
            if cur is None or cur[1] < indent:
                return out
            no, ind, content = cur[:3]
            if ind > indent:
                raise DigError("line %d: unexpected indentation" % no)
            if content.startswith("- "):
                return out
            kv = _split_key(content)
            if kv is None:
                raise DigError("line %d: expected 'key: value' but got '%s'" % (no, content))
            pos[0] += 1
            if kv[0] in out:
                raise DigError("line %d: duplicate key '%s'" % (no, kv[0]))
            out[kv[0]] = parse_value(kv[1], ind)

    def parse_list(indent):
        out = []
        while True:
            cur = next_content()
            if cur is None or cur[1] < indent:
                return out
            no, ind, content = cur[:3]
            if ind != indent or not (content.startswith("- ") or content == "-"):
                return out
            item = content[1:].strip()
            pos[0] += 1
            kv = _split_key(item) if item else None
            if kv is not None and not item.startswith(("'", '"', "[", "{")):
                m = {kv[0]: parse_value(kv[1], ind + 2)}
                nxt = next_content()
                if nxt is not None and nxt[1] > ind:
                    more = parse_map(nxt[1])
                    if isinstance(more, dict):
                        m.update(more)
                out.append(m)
            elif item == "":
                out.append(parse_value("", ind))
            else:
                out.append(_scalar(item))

    result = parse_block(0)
    if next_content() is not None:
        raise DigError("line %d: unexpected content" % next_content()[0])
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise DigError("a workflow definition must be a mapping")
    return result


# ---------------------------------------------------------------------------
# Schedules (daily>, hourly>, weekly>, monthly>, cron>, minutes_interval>)


def _hms(text, parts):
    """'07:00:00' (parts=3) or '05:00' (parts=2) -> seconds."""
    f = str(text).strip().split(":")
    if len(f) != parts or not all(x.isdigit() for x in f):
        raise DigError("invalid time format '%s'" % text)
    n = [int(x) for x in f]
    if parts == 3:
        if n[0] > 23 or n[1] > 59 or n[2] > 59:
            raise DigError("invalid time '%s'" % text)
        return n[0] * 3600 + n[1] * 60 + n[2]
    if n[0] > 59 or n[1] > 59:
        raise DigError("invalid time '%s'" % text)
    return n[0] * 60 + n[1]


DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


class ScheduleSpec:
    """Session times are cron slots; the run time is slot + offset."""

    def __init__(self, cfg, tzname):
        if not isinstance(cfg, dict):
            raise DigError("schedule: must be a mapping such as {daily>: 07:00:00}")
        kinds = [k for k in cfg if k.endswith(">")]
        if len(kinds) != 1:
            raise DigError("schedule: exactly one scheduler type is required "
                           "(daily>, hourly>, weekly>, monthly>, cron>, minutes_interval>)")
        kind = kinds[0]
        v = cfg[kind]
        self.kind, self.value, self.tz = kind, v, tzname
        self.offset = 0
        if kind == "daily>":
            self.cron, self.offset = "0 0 * * *", _hms(v, 3)
        elif kind == "hourly>":
            self.cron, self.offset = "0 * * * *", _hms(v, 2)
        elif kind == "weekly>":
            f = str(v).split(",")
            if len(f) != 2 or f[0].strip()[:3].lower() not in DOW_NAMES:
                raise DigError("weekly>: expected 'Sun,09:00:00' but got '%s'" % v)
            self.cron = "0 0 * * %d" % DOW_NAMES.index(f[0].strip()[:3].lower())
            self.offset = _hms(f[1], 3)
        elif kind == "monthly>":
            f = str(v).split(",")
            if len(f) != 2 or not f[0].strip().isdigit() or not 1 <= int(f[0]) <= 31:
                raise DigError("monthly>: expected '1,09:00:00' but got '%s'" % v)
            self.cron, self.offset = "0 0 %d * *" % int(f[0]), _hms(f[1], 3)
        elif kind == "minutes_interval>":
            if not isinstance(v, int) or not 1 <= v <= 59:
                raise DigError("minutes_interval>: expected an integer 1..59 but got '%s'" % v)
            self.cron = "*/%d * * * *" % v
        elif kind == "cron>":
            self.cron = str(v)
            try:
                _v3.parse_cron(self.cron)
            except Exception:
                raise DigError("cron>: invalid cron expression '%s'" % v)
        else:
            raise DigError("Unknown scheduler type: %s" % kind)
        self.config = dict(cfg)

    def next_after(self, t):
        """First slot strictly after t."""
        return _v3.cron_next(self.cron, int(t), self.tz or "UTC")

    def first_ge(self, t):
        return _v3.cron_next(self.cron, int(t) - 1, self.tz or "UTC")

    def last_le(self, t):
        for back in (7200, 2 * 86400, 40 * 86400, 400 * 86400):
            s = self.first_ge(t - back)
            if s is not None and s <= t:
                while True:
                    n = self.next_after(s)
                    if n is None or n > t:
                        return s
                    s = n
        return None

    def run_time(self, slot):
        return slot + self.offset

    def first_run_from(self, t):
        """First slot whose run time is at or after t."""
        s = self.first_ge(t - self.offset)
        while s is not None and s + self.offset < t:
            s = self.next_after(s)
        return s


# ---------------------------------------------------------------------------
# Model


class Workflow:
    def __init__(self, wid, name, project, revision, config):
        self.id = wid
        self.name = name
        self.project = project
        self.revision = revision            # revision name
        self.config = config
        self.timezone = config.get("timezone") or "UTC"
        self.schedule = None
        if config.get("schedule") is not None:
            self.schedule = ScheduleSpec(config["schedule"], self.timezone)

    def to_json(self):
        return {"id": str(self.id), "name": self.name,
                "project": {"id": str(self.project.id), "name": self.project.name},
                "revision": self.revision, "timezone": self.timezone,
                "config": self.config}

    def task_tree(self):
        """[(fullName, parent_index, config, is_group, upstream_indexes)] depth first."""
        out = []

        def walk(name, cfg, parent):
            idx = len(out)
            children = [(k, v) for k, v in cfg.items() if k.startswith("+")]
            own = {k: v for k, v in cfg.items()
                   if not k.startswith("+") and not (parent is None and k in (
                       "schedule", "timezone", "_error"))}
            out.append([name, parent, own, bool(children), []])
            parallel = as_bool(cfg.get("_parallel"))
            prev = None
            for k, v in children:
                cidx = walk(name + k, v if isinstance(v, dict) else {}, idx)
                if prev is not None and not parallel:
                    out[cidx][4].append(prev)
                prev = cidx
            return idx

        walk("+" + self.name, self.config, None)
        return out


class Revision:
    def __init__(self, rid, name, created, archive, user):
        self.id = rid
        self.name = name
        self.created = created
        self.archive = archive
        self.md5 = base64.b64encode(hashlib.md5(archive).digest()).decode()
        self.workflows = {}                 # name -> Workflow (definition order)
        self.user = user

    def to_json(self):
        return {"revision": self.name, "createdAt": iso_instant(self.created),
                "archiveType": "s3", "archiveMd5": self.md5,
                "userInfo": {"td": {"user": {"id": self.user[0], "name": self.user[1],
                                             "email": self.user[2]}}}}


class Project:
    def __init__(self, pid, name, created):
        self.id = pid
        self.name = name
        self.created = created
        self.updated = created
        self.deleted = None
        self.revisions = []                  # oldest first
        self.secrets = {}
        self.metadata = []

    @property
    def latest(self):
        return self.revisions[-1]

    def ref(self):
        return {"id": str(self.id), "name": self.name}

    def to_json(self):
        r = self.latest
        return {"id": str(self.id), "name": self.name, "revision": r.name,
                "createdAt": iso_instant(self.created), "updatedAt": iso_instant(self.updated),
                "deletedAt": iso_instant(self.deleted), "archiveType": "s3",
                "archiveMd5": r.md5, "metadata": list(self.metadata)}


class Schedule:
    def __init__(self, sid, project, workflow, next_slot, created):
        self.id = sid
        self.project = project
        self.workflow = workflow
        self.next_slot = next_slot
        self.next_run = workflow.schedule.run_time(next_slot)
        self.disabled = None
        self.created = created
        self.updated = created

    def to_json(self, summary=False):
        d = {"id": str(self.id), "project": self.project.ref(),
             "workflow": {"id": str(self.workflow.id), "name": self.workflow.name},
             "nextRunTime": iso_instant(self.next_run),
             "nextScheduleTime": offset_time(self.next_slot, self.workflow.timezone),
             "disabledAt": iso_instant(self.disabled)}
        if summary:
            d["createdAt"] = iso_instant(self.created)
            d["updatedAt"] = iso_instant(self.updated)
        return d


class Session:
    def __init__(self, sid, project, workflow, session_time):
        self.id = sid
        self.project = project
        self.workflow_name = workflow.name
        self.workflow = workflow
        self.time = session_time
        self.uuid = str(uuid.UUID(bytes=hashlib.md5(b"fake-td-session-%d" % sid).digest(),
                                  version=4))
        self.attempts = []

    @property
    def last(self):
        return self.attempts[-1] if self.attempts else None

    def to_json(self):
        d = {"id": str(self.id), "project": self.project.ref(),
             "workflow": {"name": self.workflow_name, "id": str(self.workflow.id)},
             "sessionUuid": self.uuid,
             "sessionTime": offset_time(self.time, self.workflow.timezone),
             "lastAttempt": None}
        a = self.last
        if a is not None:
            d["lastAttempt"] = {
                "id": str(a.id), "retryAttemptName": a.name or None, "done": a.done,
                "success": a.success, "cancelRequested": a.cancel_requested,
                "params": a.params, "createdAt": iso_instant(a.created),
                "finishedAt": iso_instant(a.finished), "status": a.status,
                "poolId": a.pool_id}
        return d


class Task:
    def __init__(self, tid, full_name, parent, config, is_group):
        self.id = tid
        self.full_name = full_name
        self.parent = parent                 # Task or None
        self.config = config
        self.is_group = is_group
        self.upstreams = []
        self.children = []
        self.state = "blocked"
        self.cancel_requested = False
        self.started = None
        self.updated = None
        self.error = {}
        self.carried = False
        self.fail_message = None
        self.log_end = None                  # when the log got its final lines

    def to_json(self):
        return {"id": str(self.id), "fullName": self.full_name,
                "parentId": str(self.parent.id) if self.parent else None,
                "config": self.config, "upstreams": [str(u.id) for u in self.upstreams],
                "isGroup": self.is_group, "state": self.state,
                "cancelRequested": self.cancel_requested,
                "exportParams": {}, "storeParams": {}, "stateParams": {},
                "updatedAt": iso_instant(self.updated), "retryAt": None,
                "startedAt": iso_instant(self.started), "error": self.error}


class Attempt:
    def __init__(self, aid, session, workflow, name, params, created, index):
        self.id = aid
        self.session = session
        self.workflow = workflow
        self.name = name or ""
        self.params = params
        self.created = created
        self.index = index
        self.done = False
        self.success = False
        self.cancel_requested = False
        self.finished = None
        self.frozen = False
        self.stuck = False
        self.queued = True
        self.tasks = []
        self.leaves = []                     # leaves to run, in order
        self.completed = 0                   # leaves finished
        self.polls = 0
        self.cancel_mark = None              # polls (or time) when kill was requested
        self.pool_id = None

    @property
    def status(self):
        if self.done:
            if self.success:
                return "success"
            return "killed" if self.cancel_requested else "error"
        if self.cancel_requested:
            return "canceling"
        return "queued" if self.queued else "running"

    def to_json(self):
        s = self.session
        return {"id": str(self.id), "index": self.index, "project": s.project.ref(),
                "workflow": {"name": self.workflow.name, "id": str(self.workflow.id)},
                "sessionId": str(s.id), "sessionUuid": s.uuid,
                "sessionTime": offset_time(s.time, self.workflow.timezone),
                "retryAttemptName": self.name or None, "done": self.done,
                "success": self.success, "cancelRequested": self.cancel_requested,
                "params": self.params, "createdAt": iso_instant(self.created),
                "finishedAt": iso_instant(self.finished), "status": self.status,
                "poolId": self.pool_id}


# ---------------------------------------------------------------------------
# Failure directives


def _truthy_directive(v):
    return v is True or (isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0) \
        or (isinstance(v, str) and v.strip().lower() in ("true", "1", "yes"))


def failing_leaf(attempt, leaves):
    """The leaf (Task) that must fail in this attempt, with its message, or None."""
    for t in leaves:
        op = t.config.get("fail>") if isinstance(t.config, dict) else None
        if op is not None:
            return t, str(op)
        if "fake_fail" in t.full_name.rsplit("+", 1)[-1]:
            return t, "Command failed with code 1 (fake_fail)"
    p = attempt.params if isinstance(attempt.params, dict) else {}
    want = p.get("fake_fail")
    limit = p.get("fake_fail_attempts")
    if "fake_fail" in attempt.workflow.name and want is None:
        want = True
    if limit is not None:
        try:
            n = int(limit)
        except (TypeError, ValueError):
            n = 0
        if attempt.index > n:
            return None
        if want is None:
            want = True
    if want is None or want is False:
        return None
    candidates = [t for t in attempt.tasks if not t.is_group]
    if isinstance(want, str) and want.startswith("+"):
        target = [t for t in candidates if t.full_name.endswith(want)]
    elif _truthy_directive(want):
        target = candidates[-1:]
    else:
        return None
    if not target or target[0].carried:
        return None
    return target[0], "Command failed with code 1 (fake_fail requested by params)"


# ---------------------------------------------------------------------------
# State


class WfState:
    def __init__(self, app):
        self.app = app
        self.t0 = time.time()
        self.projects = {}
        self.workflows = {}
        self.schedules = {}
        self.sessions = {}
        self.attempts = {}
        self.pools = {}
        self.pool_rules = {}
        self.next = {"project": 1, "revision": 1, "workflow": 1, "schedule": 1,
                     "session": 1, "attempt": 1, "task": 1, "pool": 1, "pool_rule": 1}
        self.seed()

    def now(self):
        if _v3 is not None and _v3.STATE is not None:
            return _v3.STATE.now()
        return BASE_EPOCH + (time.time() - self.t0)

    def new_id(self, kind):
        n = self.next[kind]
        self.next[kind] += 1
        return n

    def cfg(self, key, default):
        return self.app.config.get(key, default)

    # -- lookups ---------------------------------------------------------------
    def project(self, pid, allow_deleted=False):
        p = self.projects.get(path_id(pid))
        if p is None:
            raise not_found("project id=%s" % pid)
        if p.deleted is not None and not allow_deleted:
            raise WfError(404, "Project id=%d is already deleted at %s"
                          % (p.id, iso_instant(p.deleted)))
        return p

    def project_by_name(self, name):
        for p in self.projects.values():
            if p.name == name and p.deleted is None:
                return p
        return None

    def workflow(self, wid):
        w = self.workflows.get(path_id(wid))
        if w is None:
            raise not_found("workflow id=%s" % wid)
        return w

    def schedule(self, sid):
        s = self.schedules.get(path_id(sid))
        if s is None:
            raise not_found("schedule id=%s" % sid)
        return s

    def session(self, sid):
        s = self.sessions.get(path_id(sid))
        if s is None:
            raise not_found("session id=%s" % sid)
        return s

    def attempt(self, aid):
        a = self.attempts.get(path_id(aid))
        if a is None:
            raise not_found("session attempt id=%s" % aid)
        return a

    # -- projects --------------------------------------------------------------
    def parse_archive(self, data):
        limit = int(self.cfg("wf_max_archive_size", MAX_ARCHIVE_SIZE))
        if len(data) > limit:
            raise WfError(400, "Size of the uploaded archive file exceeds limit (%d > %d bytes)"
                          % (len(data), limit))
        try:
            tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
            members = tf.getmembers()
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as e:
            raise WfError(400, "Invalid project archive (expected tar.gz): %s" % e)
        total = 0
        digs = []
        for m in members:
            name = m.name
            while name.startswith("./"):
                name = name[2:]
            parts = name.split("/")
            if name.startswith("/") or ".." in parts:
                raise WfError(400, "Bad zip entry: %s" % m.name)
            if m.size > limit:
                raise WfError(400, "Size of a file in the archive exceeds limit (%d > %d bytes): %s"
                              % (m.size, limit, name))
            total += m.size
            if total > limit:
                raise WfError(400, "Total size of the archive exceeds limit (%d > %d bytes)"
                              % (total, limit))
            if m.isfile() and len(parts) == 1 and name.endswith(".dig") and len(name) > 4:
                digs.append((name[:-4], tf.extractfile(m).read()))
        out = []
        for wname, raw in sorted(digs):
            try:
                cfg = parse_dig(raw.decode("utf-8"))
                tzname = cfg.get("timezone") or "UTC"
                if get_tz(tzname) is None:
                    raise DigError("Unknown time zone '%s'" % tzname)
                if cfg.get("schedule") is not None:
                    ScheduleSpec(cfg["schedule"], tzname)
            except UnicodeDecodeError:
                raise WfError(400, "%s.dig is not UTF-8" % wname)
            except DigError as e:
                raise WfError(400, "Failed to load %s.dig: %s" % (wname, e))
            out.append((wname, cfg))
        return out

    def put_project(self, name, revname, data, at, user=(1, "owner", "owner@example.com"),
                    schedule_from=None, clear=(), clear_all=False, skip_schedule=True):
        workflows = self.parse_archive(data)
        p = self.project_by_name(name)
        if p is not None and any(r.name == revname for r in p.revisions):
            raise WfError(409, "Resource already exists: revision name=%s of project id=%d"
                          % (revname, p.id))
        if p is not None:
            known = set(p.latest.workflows)
            for c in clear:
                if c not in known:
                    raise WfError(400, "%s does not exist" % c)
        elif clear:
            raise WfError(400, "%s does not exist" % clear[0])
        if p is None:
            p = Project(self.new_id("project"), name, at)
            self.projects[p.id] = p
        old = p.latest.workflows if p.revisions else {}
        rev = Revision(self.new_id("revision"), revname, at, data, user)
        for wname, cfg in workflows:
            w = Workflow(self.new_id("workflow"), wname, p, revname, cfg)
            rev.workflows[wname] = w
            self.workflows[w.id] = w
        p.revisions.append(rev)
        p.updated = at
        # schedules
        start = schedule_from if schedule_from is not None else at
        existing = {s.workflow.name: s for s in self.schedules.values() if s.project is p}
        for wname, s in existing.items():
            w = rev.workflows.get(wname)
            if w is None or w.schedule is None:
                del self.schedules[s.id]
        for wname, w in rev.workflows.items():
            if w.schedule is None:
                continue
            s = existing.get(wname)
            if s is None or s.id not in self.schedules:
                s = Schedule(self.new_id("schedule"), p, w,
                             w.schedule.first_run_from(start), at)
                self.schedules[s.id] = s
                continue
            prev = old.get(wname)
            changed = prev is None or prev.schedule is None or \
                prev.schedule.config != w.schedule.config or prev.timezone != w.timezone
            s.workflow = w
            s.updated = at
            if clear_all or wname in clear:
                s.next_slot = w.schedule.first_run_from(start)
            elif changed and skip_schedule:
                s.next_slot = w.schedule.first_run_from(at)
            elif changed:
                s.next_slot = w.schedule.first_ge(s.next_slot)
            s.next_run = w.schedule.run_time(s.next_slot)
        return p

    # -- attempts ----------------------------------------------------------------
    def build_tasks(self, a):
        tree = a.workflow.task_tree()
        tasks = []
        for name, parent, cfg, is_group, ups in tree:
            t = Task(self.new_id("task"), name, tasks[parent] if parent is not None else None,
                     cfg, is_group)
            t.upstreams = [tasks[u] for u in ups]
            t.updated = a.created
            if t.parent:
                t.parent.children.append(t)
            tasks.append(t)
        a.tasks = tasks

    def find_session(self, project, wname, stime):
        for s in self.sessions.values():
            if s.project is project and s.workflow_name == wname and s.time == stime:
                return s
        return None

    def create_attempt(self, w, stime, name, params, at, resume=None, invocation="on_demand",
                       check_conflict=True):
        """Returns (attempt, created?)."""
        p = w.project
        s = self.find_session(p, w.name, stime)
        if s is not None and check_conflict:
            for a in s.attempts:
                if a.name == (name or ""):
                    # digdag reports the named attempt, or else the session's last one
                    return (a if name else s.last), False
        limit = int(self.cfg("wf_attempt_limit", 100))
        running = sum(1 for a in self.attempts.values() if not a.done)
        if running >= limit:
            raise WfError(400, "Too many attempts running. Limit: %d, Current: %d"
                          % (limit, running))
        if s is None:
            s = Session(self.new_id("session"), p, w, stime)
            self.sessions[s.id] = s
        a = Attempt(self.new_id("attempt"), s, w, name, params, at, len(s.attempts) + 1)
        s.workflow = w
        self.build_tasks(a)
        if resume:
            self.apply_resume(a, resume)
        a.leaves = [t for t in a.tasks if not t.is_group and not t.carried]
        fl = failing_leaf(a, a.leaves)
        if fl is not None:
            fl[0].fail_message = fl[1]
        p_ = a.params if isinstance(a.params, dict) else {}
        a.stuck = _truthy_directive(p_.get("fake_stuck")) or "fake_stuck" in w.name
        a.pool_id = self.pick_pool(a, invocation)
        time_mode = self.cfg("wf_mode", "polls") == "time"
        q = float(self.cfg("wf_queued_secs", 0)) if time_mode \
            else int(self.cfg("wf_queued_polls", 0))
        if q <= 0:                                # no visible queueing: starts at once
            a.queued = False
            self.start_leaf(a, 0, at)
        s.attempts.append(a)
        self.attempts[a.id] = a
        return a, True

    def apply_resume(self, a, resume):
        src = resume["source"]
        by_name = {t.full_name: t for t in src.tasks}
        if resume["mode"] == "failed":
            carry = {n for n, t in by_name.items() if t.state == "success"}
        else:
            target = resume["target"]
            names = [t.full_name for t in a.tasks]
            idx = names.index(target)
            tnode = a.tasks[idx]
            ancestors = set()
            x = tnode
            while x is not None:
                ancestors.add(x.full_name)
                x = x.parent
            carry = set()
            for t in a.tasks[:idx]:
                if t.full_name not in ancestors and not t.is_group:
                    carry.add(t.full_name)
            for t in reversed(a.tasks[:idx]):
                if t.is_group and t.full_name not in ancestors and t.children and \
                        all(c.full_name in carry for c in t.children):
                    carry.add(t.full_name)
        for t in a.tasks:
            if t.full_name in carry:
                srct = by_name.get(t.full_name)
                t.carried = True
                t.state = "success"
                t.started = srct.started if srct else None
                t.updated = srct.updated if srct else a.created

    def pick_pool(self, a, invocation):
        if not self.pools:
            return None
        for r in sorted(self.pool_rules.values(), key=lambda r: r["priority"]):
            if all(self.cond_match(c, a, invocation) for c in r["conditions"]):
                return r["poolId"]
        for pl in self.pools.values():
            if pl["default"]:
                return pl["id"]
        return None

    @staticmethod
    def cond_match(c, a, invocation):
        vals = c.get("values") or []
        t = c.get("type")
        if t == "invocation_type":
            return invocation in vals
        if t == "project_name":
            return any(a.session.project.name.startswith(v) for v in vals)
        if t == "workflow_name":
            return any(a.workflow.name.startswith(v) for v in vals)
        return False                          # workflow_type: user projects have none

    # -- life cycle --------------------------------------------------------------
    def advance(self, a, poll):
        if a.frozen or a.done:
            return
        time_mode = self.cfg("wf_mode", "polls") == "time"
        if poll and not time_mode:
            a.polls += 1
        now = self.now()
        if a.cancel_requested:
            if time_mode:
                done = now - a.cancel_mark >= float(self.cfg("wf_cancel_secs", 1.0))
            else:
                done = a.polls - a.cancel_mark > int(self.cfg("wf_cancel_polls", 1))
            if done:
                self.finish_killed(a, int(now))
            return
        q_units = float(self.cfg("wf_queued_secs", 0)) if time_mode \
            else int(self.cfg("wf_queued_polls", 0))
        t_units = float(self.cfg("wf_task_secs", 1.0)) if time_mode \
            else max(1, int(self.cfg("wf_task_polls", 1)))
        k = len(a.leaves)
        if time_mode:
            e = now - a.created
            if e < q_units:
                return
            completed = int((e - q_units) // t_units) if t_units > 0 else k
            stamp = lambda i: int(a.created + q_units + i * t_units)
        else:
            e = a.polls
            if e <= q_units:
                return
            completed = int((e - q_units - 1) // t_units)
            stamp = lambda i: int(now)
        if a.queued:
            a.queued = False
            self.start_leaf(a, 0, stamp(0))
        if a.stuck:
            completed = min(completed, max(0, k - 1))
        while a.completed < min(completed, k):
            i = a.completed
            leaf = a.leaves[i]
            at = stamp(i + 1)
            if leaf.fail_message is not None:
                self.finish_leaf(leaf, "error", at)
                self.fail_attempt(a, leaf, at)
                return
            self.finish_leaf(leaf, "success", at)
            a.completed += 1
            if a.completed < k:
                self.start_leaf(a, a.completed, at)
        if a.completed >= k and not a.stuck:
            at = stamp(k)
            for t in a.tasks:
                if t.is_group and not t.carried:
                    t.state, t.updated = "success", at
            a.done, a.success, a.finished = True, True, at

    def start_leaf(self, a, i, at):
        if i >= len(a.leaves):
            return
        leaf = a.leaves[i]
        leaf.state, leaf.started, leaf.updated = "running", at, at
        x = leaf.parent
        while x is not None:
            if x.state == "blocked":
                x.state, x.started, x.updated = "planned", at, at
            x = x.parent

    def finish_leaf(self, leaf, state, at):
        leaf.state, leaf.updated, leaf.log_end = state, at, at
        if state == "error":
            leaf.error = {"message": leaf.fail_message}

    def fail_attempt(self, a, leaf, at):
        x = leaf.parent
        while x is not None:
            x.state, x.updated = "group_error", at
            x = x.parent
        a.done, a.success, a.finished = True, False, at

    def finish_killed(self, a, at):
        for t in a.tasks:
            if t.carried or t.state in ("success", "error", "group_error"):
                continue
            if t.state == "running":
                t.log_end = at
            t.state, t.updated, t.cancel_requested = "canceled", at, True
        a.done, a.success, a.finished = True, False, at

    def advance_all(self):
        if self.cfg("wf_mode", "polls") == "time":
            for a in list(self.attempts.values()):
                self.advance(a, poll=False)

    # -- logs --------------------------------------------------------------------
    def log_files(self, a):
        out = []
        for t in a.tasks:
            if t.is_group or t.carried or t.started is None:
                continue
            tag = hashlib.md5(b"%d:%d" % (a.id, t.id)).hexdigest()[:16]
            out.append((t, "%s@%s.%s.log.gz" % (t.full_name, tag, AGENT_ID)))
        return out

    def log_text(self, a, t):
        p = a.session.project
        thread = "(%04d@[0:%s]%s)" % (t.id % 10000, p.name, t.full_name)

        def line(at, level, cls, msg):
            return "%s.000 +0000 [%s] %s %s: %s\n" % (
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(at))), level, thread, cls, msg)

        op = next((k for k in t.config if k.endswith(">")), None) if isinstance(t.config, dict) \
            else None
        opdesc = "%s: %s" % (op, t.config[op]) if op else "%s: (no operator)" % t.full_name
        s = t.started
        lines = [line(s, "INFO", "io.digdag.core.agent.OperatorManager", opdesc),
                 line(s, "DEBUG", "io.digdag.core.agent.OperatorManager",
                      "fake-td attempt_id=%d task_id=%d session_time=%s"
                      % (a.id, t.id, offset_time(a.session.time, a.workflow.timezone)))]
        if op in ("td>", "td_run>"):
            lines.append(line(s, "INFO", "io.digdag.standards.operator.td.TdOperatorFactory$TdOperator",
                              "Started presto job id=%d" % (50000 + t.id)))
        elif op == "sh>":
            lines.append(line(s, "INFO", "io.digdag.standards.operator.ShOperatorFactory$ShOperator",
                              "running %s" % t.config[op]))
        elif op == "echo>":
            lines.append("%s\n" % t.config[op])
        end = t.log_end
        if end is not None:
            if t.state == "success":
                lines.append(line(end, "INFO", "io.digdag.core.agent.OperatorManager",
                                  "Task %s finished successfully" % t.full_name))
            elif t.state == "error":
                lines.append(line(end, "ERROR", "io.digdag.core.agent.OperatorManager",
                                  "Task failed with unexpected error: %s"
                                  % (t.error.get("message") or "failed")))
                lines.append("java.lang.RuntimeException: %s\n\tat io.digdag.core.agent."
                             "OperatorManager.callExecutor(OperatorManager.java:312)\n"
                             % (t.error.get("message") or "failed"))
            elif t.state == "canceled":
                lines.append(line(end, "WARN", "io.digdag.core.agent.OperatorManager",
                                  "Task %s was canceled by a kill request" % t.full_name))
        return "".join(lines).encode("utf-8")

    def log_bytes(self, a, t):
        return gzip.compress(self.log_text(a, t), compresslevel=6, mtime=0)

    # -- seed --------------------------------------------------------------------
    def seed(self):
        day = 86400
        base = BASE_EPOCH
        midnight = base - base % day                    # 2026-11-22 00:00 UTC
        owner = (1, "owner", "owner@example.com")
        self.put_project("etl", "r1", make_archive(SEED_ETL_R1), midnight - 21 * day, owner)
        self.put_project("marketing", "v1", make_archive(SEED_MARKETING),
                         midnight - 12 * day, owner)
        etl = self.put_project("etl", "r2", make_archive(SEED_ETL_R2), midnight - 7 * day, owner)
        for sc in self.schedules.values():       # the scheduler has kept up until now
            sc.next_slot = sc.workflow.schedule.first_run_from(base)
            sc.next_run = sc.workflow.schedule.run_time(sc.next_slot)
        mk = self.project_by_name("marketing")
        mk.secrets = {"slack.webhook": "https://hooks.example.com/T000/B000/xyz"}
        etl.secrets = {"td.apikey": "1/0123456789abcdef0123456789abcdef01234567",
                       "aws.s3.secret_access_key": "fake-secret"}
        daily = etl.latest.workflows["daily"]
        hourly = etl.latest.workflows["hourly"]
        camp = mk.latest.workflows["campaign_report"]
        H = 3600
        hist = [
            # (workflow, session time, created, outcome, retry name, resume source)
            (daily, midnight - 3 * day, midnight - 3 * day + 2 * H + 3, "success", None),
            (daily, midnight - 2 * day, midnight - 2 * day + 2 * H + 3, "success", None),
            (camp, midnight - day - 9 * H, midnight - day - 8 * H - 1800, "killed", None),
            (daily, midnight - day, midnight - day + 2 * H + 3, "error:+daily+load", None),
            (daily, midnight - day, midnight - day + 9 * H, "success", "retry-20261121"),
            (camp, midnight - 9 * H, midnight - 9 * H + 600, "success", None),
            (daily, midnight, midnight + 2 * H + 3, "error:+daily+transform", None),
            (hourly, midnight + 6 * H, midnight + 6 * H + 303, "success", None),
            (hourly, midnight + 7 * H, midnight + 7 * H + 303, "error:+hourly+aggregate", None),
            (hourly, midnight + 8 * H, midnight + 8 * H + 303, "success", None),
            (hourly, midnight + 9 * H, midnight + 9 * H + 303, "success", None),
            (camp, midnight + 9 * H, midnight + 9 * H + 3300, "running", None),
        ]
        for w, stime, created, outcome, rname in hist:
            resume = None
            if rname:
                prev = self.find_session(w.project, w.name, stime).last
                resume = {"mode": "failed", "source": prev}
            a, _ = self.create_attempt(w, stime, rname, {}, created, resume=resume,
                                       invocation="scheduled" if w is not camp else "on_demand")
            a.frozen = True
            self.play_history(a, outcome)

    def play_history(self, a, outcome):
        """Give a seeded attempt its final (frozen) state; each leaf took 60 s."""
        at = a.created + 2
        a.queued = False
        fail = outcome.split(":", 1)[1] if outcome.startswith("error:") else None
        for i, leaf in enumerate(a.leaves):
            self.start_leaf(a, i, at)
            if (outcome == "running" and i == min(1, len(a.leaves) - 1)) or \
                    (outcome == "killed" and i == len(a.leaves) - 1):
                if outcome == "killed":
                    a.cancel_requested = True
                    self.finish_killed(a, at + 45)
                return
            at += 60
            if leaf.full_name == fail:
                leaf.fail_message = "Query failed: line 1:8: Column 'nope' cannot be resolved"
                self.finish_leaf(leaf, "error", at)
                self.fail_attempt(a, leaf, at)
                return
            self.finish_leaf(leaf, "success", at)
            a.completed += 1
        for t in a.tasks:
            if t.is_group and not t.carried:
                t.state, t.updated = "success", at
        a.done, a.success, a.finished = True, True, at


def make_archive(files):
    """A deterministic tar.gz of {path: text}."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gzf:
        with tarfile.open(fileobj=gzf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for path in sorted(files):
                data = files[path].encode("utf-8")
                ti = tarfile.TarInfo(path)
                ti.size = len(data)
                ti.mtime = BASE_EPOCH - 30 * 86400
                ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


SEED_ETL_R1 = {
    "daily.dig": "timezone: UTC\n\nschedule:\n  daily>: 02:00:00\n\n"
                 "+extract:\n  td>: queries/extract.sql\n\n+load:\n  td>: queries/load.sql\n",
    "hourly.dig": "timezone: UTC\n\nschedule:\n  hourly>: 05:00\n\n"
                  "+ingest:\n  sh>: scripts/ingest.sh\n",
    "queries/extract.sql": "SELECT * FROM www_access\n",
    "queries/load.sql": "INSERT INTO pageviews SELECT * FROM tmp\n",
    "scripts/ingest.sh": "#!/bin/sh\necho ingest\n",
}

SEED_ETL_R2 = {
    "daily.dig": ("timezone: UTC\n\nschedule:\n  daily>: 02:00:00\n\n"
                  "_export:\n  td:\n    database: web\n\n"
                  "+extract:\n  td>: queries/extract.sql\n\n"
                  "+transform:\n  td>: queries/transform.sql\n  create_table: tmp_daily\n\n"
                  "+load:\n  td>: queries/load.sql\n"),
    "hourly.dig": ("timezone: UTC\n\nschedule:\n  hourly>: 05:00\n\n"
                   "+ingest:\n  sh>: scripts/ingest.sh\n\n"
                   "+aggregate:\n  td>: queries/hourly_agg.sql\n"),
    "queries/extract.sql": "SELECT * FROM www_access\n",
    "queries/transform.sql": "SELECT path, COUNT(1) AS pv FROM www_access GROUP BY 1\n",
    "queries/load.sql": "INSERT INTO pageviews SELECT * FROM tmp_daily\n",
    "queries/hourly_agg.sql": "SELECT TD_TIME_FORMAT(time, 'yyyy-MM-dd HH') AS h, COUNT(1) "
                              "FROM pageviews GROUP BY 1\n",
    "scripts/ingest.sh": "#!/bin/sh\necho ingest\n",
}

SEED_MARKETING = {
    "campaign_report.dig": ("timezone: Asia/Tokyo\n\n"
                            "+fetch:\n  td>: queries/fetch.sql\n\n"
                            "+report:\n  +summary:\n    td>: queries/summary.sql\n"
                            "  +notify:\n    echo>: report ready\n"),
    "queries/fetch.sql": "SELECT * FROM pageviews\n",
    "queries/summary.sql": "SELECT country, COUNT(1) FROM pageviews GROUP BY 1\n",
}


STATE = None


def S():
    return STATE


def reset(app):
    global STATE
    STATE = WfState(app)


def dump_state(app):
    s = STATE
    by_status = {}
    for a in s.attempts.values():
        by_status[a.status] = by_status.get(a.status, 0) + 1
    return {
        "projects": {p.name: {"id": str(p.id), "revision": p.latest.name,
                              "workflows": {n: str(w.id) for n, w in p.latest.workflows.items()},
                              "deleted": p.deleted is not None}
                     for p in s.projects.values()},
        "schedules": len(s.schedules), "sessions": len(s.sessions),
        "attempts": len(s.attempts), "attempts_by_status": by_status,
        "last_attempt_id": str(s.next["attempt"] - 1),
        "pools": len(s.pools), "pool_rules": len(s.pool_rules),
    }


# ---------------------------------------------------------------------------
# Handlers: version


def h_version(req):
    return {"version": SERVER_VERSION}


def h_version_check(req):
    return {"serverVersion": SERVER_VERSION, "upgradeRecommended": False,
            "apiCompatible": True}


# ---------------------------------------------------------------------------
# Handlers: projects


def h_projects(req):
    s = S()
    name = req.query.get("name")
    pattern = req.query.get("name_pattern")
    last = q_int(req, "last_id")
    count = q_int(req, "count", 100)
    out = sorted((p for p in s.projects.values() if p.deleted is None), key=lambda p: p.id)
    if name is not None:
        out = [p for p in out if p.name == name]
    if pattern:
        out = [p for p in out if pattern in p.name]
    if last is not None:
        out = [p for p in out if p.id > last]
    return {"projects": [p.to_json() for p in out[:max(count, 0)]]}


def h_project(req, id):
    return S().project(id).to_json()


def h_project_by_name(req):
    p = S().project_by_name(req.query.get("name") or "")
    if p is None:
        raise not_found("project name=%s" % req.query.get("name"))
    return p.to_json()


def h_delete_project(req, id):
    s = S()
    p = s.project(id)
    p.deleted = int(s.now())
    for sid in [x.id for x in s.schedules.values() if x.project is p]:
        del s.schedules[sid]
    return p.to_json()


def h_put_project(req):
    s = S()
    name = req.query.get("project")
    rev = req.query.get("revision")
    if not name:
        raise WfError(400, "project= is required")
    if not rev:
        raise WfError(400, "revision= is required")
    if isinstance(name, list) or isinstance(rev, list):
        raise WfError(400, "project= and revision= must be given once")
    if req.header("Content-Length") is None:
        raise WfError(400, "Content-Length header is required")
    sf = req.query.get("schedule_from")
    schedule_from = parse_instant("schedule_from", sf) if sf else None
    clear = req.query.get("clear_schedule") or []
    if not isinstance(clear, list):
        clear = [clear]
    p = s.put_project(name, rev, req.body, int(s.now()),
                      user=(1 if req.user == "owner" else 2, req.user,
                            "%s@example.com" % req.user),
                      schedule_from=schedule_from, clear=[c for c in clear if c],
                      clear_all=as_bool(req.query.get("clear_schedule_all")),
                      skip_schedule=as_bool(req.query.get("skip_schedule"), True))
    return p.to_json()


def h_revisions(req, id):
    p = S().project(id)
    revs = list(reversed(p.revisions))
    name = req.query.get("name")
    if name is not None:
        revs = [r for r in revs if r.name == name]
    size = q_int(req, "page[size]", 100)
    if size > 100 or size < 0:
        raise WfError(400, "page[size] must be between 0 and 100: %d" % size)
    after = req.query.get("page[after]")
    if after:
        try:
            rid = int(base64.urlsafe_b64decode(after.encode() + b"==").decode())
        except (ValueError, UnicodeDecodeError):
            raise WfError(400, "Invalid page[after] cursor: %s" % after)
        revs = [r for r in revs if r.id < rid]
    page = revs[:size]
    nxt = None
    if len(revs) > size and page:
        cur = base64.urlsafe_b64encode(str(page[-1].id).encode()).decode().rstrip("=")
        nxt = "/api/projects/%d/revisions?page%%5Bafter%%5D=%s&page%%5Bsize%%5D=%d" % (
            p.id, cur, size)
    return {"revisions": [r.to_json() for r in page], "pagination": {"nextPage": nxt}}


def _revision(p, name):
    if not name:
        return p.latest
    for r in p.revisions:
        if r.name == name:
            return r
    raise not_found("revision name=%s of project id=%d" % (name, p.id))


def h_project_workflows(req, id):
    p = S().project(id)
    r = _revision(p, req.query.get("revision"))
    out = list(r.workflows.values())
    name = req.query.get("name")
    if name is not None:
        out = [w for w in out if w.name == name]
    return {"workflows": [w.to_json() for w in out]}


def h_project_workflow(req, id, name):
    p = S().project(id)
    w = _revision(p, req.query.get("revision")).workflows.get(name)
    if w is None:
        raise not_found("workflow name=%s in project id=%d" % (name, p.id))
    return w.to_json()


def h_project_schedules(req, id):
    s = S()
    p = s.project(id)
    out = sorted((x for x in s.schedules.values() if x.project is p), key=lambda x: x.id)
    wf = req.query.get("workflow")
    if wf is not None:
        out = [x for x in out if x.workflow.name == wf]
    last = q_int(req, "last_id")
    if last is not None:
        out = [x for x in out if x.id > last]
    return {"schedules": [x.to_json() for x in out[:100]]}


def h_project_sessions(req, id):
    s = S()
    s.advance_all()
    p = s.project(id)
    items = [x for x in s.sessions.values() if x.project is p]
    wf = req.query.get("workflow")
    if wf is not None:
        items = [x for x in items if x.workflow_name == wf]
    return {"sessions": [x.to_json() for x in desc_page(items, req)]}


def _direct_url(req, kind, a, b, filename):
    host = req.header("Host") or "127.0.0.1"
    sig = sign(kind, a, b)
    return ("http://%s/fake-s3/td-workflow-%s/%s/%s/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAFAKE%%2F20261122%%2Fus-east-1%%2Fs3%%2Faws4_request"
            "&X-Amz-Date=20261122T100000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=%s" % (host, kind, a, _quote_seg(b), _quote_seg(filename), sig))


def _quote_seg(s):
    import urllib.parse
    return urllib.parse.quote(str(s), safe="+@")


def h_archive(req, id):
    p = S().project(id)
    r = _revision(p, req.query.get("revision"))
    if as_bool(req.query.get("direct_download"), True):
        url = _direct_url(req, "archives", p.id, r.name, "%s.tar.gz" % p.name)
        return Response(303, b"", headers=[("Location", url)])
    return serve_bytes(req, r.archive, "application/gzip")


def h_secrets(req, id):
    p = S().project(id)
    return {"secrets": [{"key": k} for k in sorted(p.secrets)]}


def _check_secret_key(key):
    if len(key) > 255 or not SECRET_KEY_RE.match(key):
        raise WfError(400, "Invalid secret key: '%s'" % key)


def h_put_secret(req, id, key):
    p = S().project(id)
    _check_secret_key(key)
    body = json_body(req)
    v = body.get("value")
    if not isinstance(v, str):
        raise WfError(400, "Invalid secret: value is required")
    if len(v.encode("utf-8")) > 16 * 1024:
        raise WfError(400, "Invalid secret: value is larger than 16384 bytes")
    p.secrets[key] = v
    return Response(204)


def h_delete_secret(req, id, key):
    p = S().project(id)
    _check_secret_key(key)
    p.secrets.pop(key, None)
    return Response(204)


# ---------------------------------------------------------------------------
# Handlers: workflows


def h_workflows(req):
    s = S()
    order = req.query.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise WfError(400, "order must be 'asc' or 'desc': %s" % order)
    last = q_int(req, "last_id")
    count = q_int(req, "count", 100)
    pattern = req.query.get("name_pattern")
    search_project = as_bool(req.query.get("search_project_name"))
    out = [w for p in s.projects.values() if p.deleted is None
           for w in p.latest.workflows.values()]
    if pattern:
        out = [w for w in out if pattern in w.name
               or (search_project and pattern in w.project.name)]
    out.sort(key=lambda w: w.id, reverse=(order == "desc"))
    if last is not None:
        out = [w for w in out if (w.id > last if order == "asc" else w.id < last)]
    return {"workflows": [w.to_json() for w in out[:max(count, 0)]]}


def h_workflow(req, id):
    return S().workflow(id).to_json()


def h_workflow_by_names(req):
    s = S()
    p = s.project_by_name(req.query.get("project") or "")
    if p is None:
        raise not_found("project name=%s" % req.query.get("project"))
    w = _revision(p, req.query.get("revision")).workflows.get(req.query.get("name") or "")
    if w is None:
        raise not_found("workflow name=%s" % req.query.get("name"))
    return w.to_json()


def h_truncated(req, id):
    w = S().workflow(id)
    mode = req.query.get("mode")
    if mode not in (None, "", "hour", "day", "schedule", "next_schedule"):
        raise BareNotFound()
    t = parse_local_or_offset("session_time", req.query.get("session_time"), w.timezone)
    tz = get_tz(w.timezone) or dt.timezone.utc
    d = dt.datetime.fromtimestamp(t, tz)
    if mode == "hour":
        d = d.replace(minute=0, second=0)
    elif mode == "day":
        d = d.replace(hour=0, minute=0, second=0)
    elif mode in ("schedule", "next_schedule"):
        if w.schedule is None:
            raise WfError(400, "session_time_truncate=%s is set but schedule is not set to "
                          "this workflow" % mode)
        e = w.schedule.last_le(t) if mode == "schedule" else w.schedule.first_ge(t)
        d = dt.datetime.fromtimestamp(e, tz)
    return {"project": w.project.ref(), "revision": w.revision,
            "sessionTime": d.replace(microsecond=0).isoformat(), "timezone": w.timezone}


# ---------------------------------------------------------------------------
# Handlers: schedules


def h_schedules(req):
    s = S()
    out = sorted(s.schedules.values(), key=lambda x: x.id)
    last = q_int(req, "last_id")
    if last is not None:
        out = [x for x in out if x.id > last]
    return {"schedules": [x.to_json() for x in out[:100]]}


def h_schedule(req, id):
    return S().schedule(id).to_json()


def h_disable(req, id):
    s = S()
    sc = s.schedule(id)
    now = int(s.now())
    if sc.disabled is None:
        sc.disabled = now
    sc.updated = now
    return sc.to_json(summary=True)


def h_enable(req, id):
    s = S()
    sc = s.schedule(id)
    body = json_body(req, required=False)
    now = int(s.now())
    spec = sc.workflow.schedule
    if as_bool(body.get("skipSchedule"), True):
        if body.get("nextTime"):
            t = parse_local_or_offset("nextTime", body["nextTime"], sc.workflow.timezone)
            slot = spec.first_ge(t)
        else:
            slot = spec.first_run_from(now)
        if slot > sc.next_slot:
            sc.next_slot, sc.next_run = slot, spec.run_time(slot)
    sc.disabled = None
    sc.updated = now
    return sc.to_json(summary=True)


def h_skip(req, id):
    s = S()
    sc = s.schedule(id)
    body = json_body(req)
    spec = sc.workflow.schedule
    tzname = sc.workflow.timezone
    if body.get("nextTime"):
        slot = spec.first_ge(parse_local_or_offset("nextTime", body["nextTime"], tzname))
    elif body.get("fromTime") is not None and body.get("count") is not None:
        try:
            count = int(body["count"])
        except (TypeError, ValueError):
            raise WfError(400, "count must be an integer")
        if count < 0:
            raise WfError(400, "count must be 0 or larger")
        slot = spec.first_ge(parse_instant("fromTime", body["fromTime"]))
        for _ in range(count):
            slot = spec.next_after(slot)
    else:
        raise WfError(400, "nextTime or (fromTime and count) are required")
    if slot <= sc.next_slot:
        raise WfError(409, "Specified time to skip schedules is already past")
    run = parse_instant("nextRunTime", body["nextRunTime"]) if body.get("nextRunTime") \
        else spec.run_time(slot)
    if as_bool(body.get("dryRun")):
        tmp = Schedule(sc.id, sc.project, sc.workflow, slot, sc.created)
        tmp.next_run, tmp.disabled, tmp.updated = run, sc.disabled, sc.updated
        return tmp.to_json(summary=True)
    sc.next_slot, sc.next_run = slot, run
    sc.updated = int(s.now())
    return sc.to_json(summary=True)


def h_backfill(req, id):
    s = S()
    sc = s.schedule(id)
    body = json_body(req)
    w = sc.workflow
    spec = w.schedule
    skip_existing = as_bool(body.get("skipExisting"))
    advance = as_bool(body.get("advanceSchedule"))
    name = body.get("attemptName")
    dry = as_bool(body.get("dryRun"))
    if advance and not skip_existing:
        raise WfError(400, "advanceSchedule requires skipExisting=true")
    if advance and name:
        raise WfError(400, "attemptName cannot be set when advanceSchedule is true")
    if not name and not skip_existing:
        raise WfError(400, "attemptName is required")
    now = int(s.now())
    if body.get("fromTime"):
        start = spec.first_ge(parse_instant("fromTime", body["fromTime"]))
    elif advance:
        start = sc.next_slot
    else:
        raise WfError(400, "fromTime is required")
    instants = []
    x = start
    if advance:
        while x is not None and spec.run_time(x) <= now:
            instants.append(x)
            x = spec.next_after(x)
    else:
        while x is not None and x < sc.next_slot:
            instants.append(x)
            x = spec.next_after(x)
    if body.get("count") is not None:
        try:
            count = int(body["count"])
        except (TypeError, ValueError):
            raise WfError(400, "count must be an integer")
        if count > len(instants):
            raise WfError(400, "count is set to %d but there are only %d attempts until the "
                          "next schedule time" % (count, len(instants)))
        instants = instants[:count]
    todo = []
    for t in instants:
        sess = s.find_session(sc.project, w.name, t)
        if skip_existing:
            exists = sess is not None and bool(sess.attempts)
        else:
            exists = sess is not None and any(a.name == name for a in sess.attempts)
        if exists:
            if skip_existing:
                continue
            raise WfError(409, "Attempt of project id=%d workflow=%s instant=%s attempt name=%s "
                          "already exists" % (sc.project.id, w.name, iso_instant(t), name))
        todo.append(t)
    attempts = []
    for t in todo:
        if dry:
            fake = Attempt(0, Session(0, sc.project, w, t), w, name, {}, now, 1)
            fake.session.uuid = "00000000-0000-0000-0000-000000000000"
            fake.session.id = 0
            fake.queued = False
            attempts.append(fake.to_json())
            continue
        a, _ = s.create_attempt(w, t, name, {}, now, invocation="scheduled",
                                check_conflict=False)
        attempts.append(a.to_json())
    if advance and not dry and instants:
        sc.next_slot = spec.next_after(instants[-1])
        sc.next_run = spec.run_time(sc.next_slot)
        sc.updated = now
    return {"id": str(sc.id), "project": sc.project.ref(),
            "workflow": {"id": str(w.id), "name": w.name}, "attempts": attempts}


# ---------------------------------------------------------------------------
# Handlers: sessions and attempts


def h_sessions(req):
    s = S()
    s.advance_all()
    return {"sessions": [x.to_json() for x in desc_page(s.sessions.values(), req)]}


def h_session(req, id):
    s = S()
    s.advance_all()
    return s.session(id).to_json()


def h_session_attempts(req, id):
    s = S()
    s.advance_all()
    sess = s.session(id)
    return {"attempts": [a.to_json() for a in desc_page(sess.attempts, req)]}


def h_attempts(req):
    s = S()
    s.advance_all()
    items = list(s.attempts.values())
    pname = req.query.get("project")
    wname = req.query.get("workflow")
    if pname is not None:
        p = s.project_by_name(pname)
        if p is None:
            raise not_found("project name=%s" % pname)
        items = [a for a in items if a.session.project is p]
        if wname is not None:
            items = [a for a in items if a.session.workflow_name == wname]
    if not as_bool(req.query.get("include_retried")):
        items = [a for a in items if a.session.last is a]
    return {"attempts": [a.to_json() for a in desc_page(items, req)]}


def h_attempt(req, id):
    s = S()
    a = s.attempt(id)
    s.advance(a, poll=True)
    return a.to_json()


def h_attempt_tasks(req, id):
    s = S()
    a = s.attempt(id)
    s.advance(a, poll=False)
    return {"tasks": [t.to_json() for t in a.tasks]}


def h_attempt_retries(req, id):
    s = S()
    s.advance_all()
    a = s.attempt(id)
    return {"attempts": [x.to_json() for x in sorted(a.session.attempts, key=lambda x: x.index)]}


def h_start_attempt(req):
    s = S()
    body = json_body(req)
    if body.get("workflowId") not in (None, ""):
        try:
            wid = int(body["workflowId"])
        except (TypeError, ValueError):
            raise WfError(400, "workflowId must be an integer: %r" % body["workflowId"])
        w = s.workflows.get(wid)
        if w is None:
            raise not_found("workflow id=%d" % wid)
    elif body.get("projectName") and body.get("workflowName"):
        p = s.project_by_name(body["projectName"])
        if p is None:
            raise not_found("project name=%s" % body["projectName"])
        w = p.latest.workflows.get(body["workflowName"])
        if w is None:
            raise not_found("workflow name=%s in project id=%d" % (body["workflowName"], p.id))
    else:
        raise WfError(400, "workflowId or (projectName and workflowName) are required")
    if w.project.deleted is not None:
        raise WfError(404, "Project id=%d is already deleted at %s"
                      % (w.project.id, iso_instant(w.project.deleted)))
    if body.get("sessionTime") in (None, ""):
        raise WfError(400, "sessionTime is required")
    stime = parse_instant("sessionTime", body["sessionTime"])
    if "params" not in body or body["params"] is None:
        raise WfError(400, "params is required")
    params = body["params"]
    if not isinstance(params, dict):
        raise WfError(400, "params must be a JSON object")
    name = body.get("retryAttemptName")
    if name is not None and not isinstance(name, str):
        raise WfError(400, "retryAttemptName must be a string")
    resume = None
    r = body.get("resume")
    if r is not None:
        if not isinstance(r, dict) or r.get("mode") not in ("failed", "from"):
            raise WfError(400, "resume.mode must be 'failed' or 'from'")
        if r.get("attemptId") in (None, ""):
            raise WfError(400, "resume.attemptId is required")
        try:
            src = s.attempts.get(int(r["attemptId"]))
        except (TypeError, ValueError):
            raise WfError(400, "resume.attemptId must be an integer")
        if src is None:
            raise not_found("session attempt id=%s" % r["attemptId"])
        resume = {"mode": r["mode"], "source": src}
        if r["mode"] == "failed":
            if src.done and src.success:
                raise WfError(400, "Resuming successfully completed attempts is not supported")
        else:
            pat = r.get("from")
            if not isinstance(pat, str) or not pat:
                raise WfError(400, "resume.from is required when mode is 'from'")
            names = [t[0] for t in w.task_tree()]
            hits = [n for n in names if n.endswith(pat)]
            if not hits:
                raise WfError(400, "Task pattern '%s' doesn't match any task" % pat)
            if len(hits) > 1:
                raise WfError(400, "Task pattern '%s' is ambiguous (matches %s)"
                              % (pat, ", ".join(hits)))
            if hits[0] == names[0]:
                raise WfError(400, "Resuming the root task is not supported: %s" % hits[0])
            resume["target"] = hits[0]
    a, created = s.create_attempt(w, stime, name, params, int(s.now()), resume=resume)
    if not created:
        s.advance(a, poll=False)
        return Response.json(a.to_json(), status=409)
    return a.to_json()


def h_kill(req, id):
    s = S()
    a = s.attempt(id)
    s.advance(a, poll=False)
    if a.done or a.cancel_requested:
        raise WfError(409, "Session attempt already killed or finished")
    before = a.to_json()
    a.cancel_requested = True
    for t in a.tasks:
        if t.state in ("blocked", "ready", "running", "planned"):
            t.cancel_requested = True
    if s.cfg("wf_mode", "polls") == "time":
        a.cancel_mark = s.now()
    else:
        a.cancel_mark = a.polls
    if a.frozen:
        a.frozen = False                 # a seeded running attempt can still be killed
        a.stuck = True
    return before


# ---------------------------------------------------------------------------
# Handlers: logs


def _log_handles(req, a):
    direct = as_bool(req.query.get("direct_download"), True)
    prefix = req.query.get("task")
    out = []
    s = S()
    for t, fname in s.log_files(a):
        if prefix and not t.full_name.startswith(prefix):
            continue
        data = s.log_bytes(a, t)
        h = {"fileName": fname, "fileSize": len(data), "taskName": t.full_name,
             "fileTime": iso_instant(t.started), "fileTimestamp": iso_instant_frac(t.started),
             "agentId": AGENT_ID}
        if direct:
            h["direct"] = _direct_url(req, "logs", a.id, t.id, fname)
        out.append(h)
    return out


def h_log_files(req, attempt_id):
    s = S()
    a = s.attempt(attempt_id)
    s.advance(a, poll=False)
    return {"files": _log_handles(req, a)}


def _find_log(a, file_name):
    for t, fname in S().log_files(a):
        if fname == file_name:
            return t
    return None


def h_log_file(req, attempt_id, file_name):
    s = S()
    a = s.attempt(attempt_id)
    s.advance(a, poll=False)
    t = _find_log(a, file_name)
    if t is None:
        raise WfError(404, "Log file does not exist: %s" % file_name)
    return serve_bytes(req, s.log_bytes(a, t), "application/gzip")


def _s3_error(status, code, message):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>FAKE0000000000</RequestId></Error>' % (code, message))
    return Response(status, body.encode(), "application/xml")


def h_direct(req, kind, a, b, filename):
    """Pre-signed 'S3' download: no TD auth; an Authorization header is rejected."""
    if req.header("Authorization") is not None:
        return _s3_error(400, "InvalidArgument",
                         "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                         "parameter, Signature query string parameter or the Authorization "
                         "header should be specified")
    sig = req.query.get("X-Amz-Signature")
    if not isinstance(sig, str) or not hmac.compare_digest(sig, sign(kind, a, b)):
        return _s3_error(403, "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature "
                         "you provided.")
    s = S()
    if kind == "archives":
        p = s.projects.get(int(a)) if a.isdigit() else None
        rev = next((r for r in p.revisions if r.name == b), None) if p else None
        if rev is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return serve_bytes(req, rev.archive, "application/gzip")
    if kind == "logs":
        att = s.attempts.get(int(a)) if a.isdigit() else None
        t = _find_log(att, filename) if att else None
        if t is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return serve_bytes(req, s.log_bytes(att, t), "application/gzip")
    return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")


# ---------------------------------------------------------------------------
# Handlers: pools and pool rules (TD only)


def _pool_or_404(pid):
    p = S().pools.get(str(path_id(pid)))
    if p is None:
        raise WfError(404, "Pool not found: id=%s" % pid)
    return p


def _ensure_default_pool(s):
    if not any(p["default"] for p in s.pools.values()):
        pid = str(s.new_id("pool"))
        s.pools[pid] = {"id": pid, "name": "default",
                        "concurrencyLimit": int(s.cfg("wf_account_concurrency", 20)),
                        "default": True}


def _check_pool_fields(body, partial):
    name = body.get("name")
    lim = body.get("concurrencyLimit")
    if not partial or name is not None:
        if not isinstance(name, str) or not 1 <= len(name) <= 256:
            raise WfError(400, "name must be 1 to 256 characters")
    if not partial or lim is not None:
        if not isinstance(lim, int) or isinstance(lim, bool) or lim < 1:
            raise WfError(400, "concurrencyLimit must be an integer >= 1")
    return name, lim


def h_pools(req):
    return {"pools": sorted(S().pools.values(), key=lambda p: int(p["id"]))}


def h_pool(req, poolId):
    return _pool_or_404(poolId)


def h_create_pool(req):
    s = S()
    name, lim = _check_pool_fields(json_body(req), False)
    _ensure_default_pool(s)
    if any(p["name"] == name for p in s.pools.values()):
        raise WfError(409, "Pool name is already used: %s" % name)
    default = next(p for p in s.pools.values() if p["default"])
    if lim >= default["concurrencyLimit"]:
        raise WfError(400, "concurrencyLimit %d exceeds the concurrency left in the default "
                      "pool (%d)" % (lim, default["concurrencyLimit"] - 1))
    default["concurrencyLimit"] -= lim
    pid = str(s.new_id("pool"))
    s.pools[pid] = {"id": pid, "name": name, "concurrencyLimit": lim, "default": False}
    return Response.json(s.pools[pid], status=201)


def h_update_pool(req, poolId):
    s = S()
    p = _pool_or_404(poolId)
    if p["default"]:
        raise WfError(400, "The default pool cannot be updated")
    name, lim = _check_pool_fields(json_body(req), True)
    if name is not None and any(x["name"] == name and x is not p for x in s.pools.values()):
        raise WfError(409, "Pool name is already used: %s" % name)
    if lim is not None:
        default = next(x for x in s.pools.values() if x["default"])
        room = default["concurrencyLimit"] + p["concurrencyLimit"] - 1
        if lim > room:
            raise WfError(400, "concurrencyLimit %d exceeds the concurrency left in the "
                          "default pool (%d)" % (lim, room))
        default["concurrencyLimit"] += p["concurrencyLimit"] - lim
        p["concurrencyLimit"] = lim
    if name is not None:
        p["name"] = name
    return p


def h_delete_pool(req, poolId):
    s = S()
    p = _pool_or_404(poolId)
    if p["default"]:
        raise WfError(400, "The default pool cannot be deleted")
    if any(r["poolId"] == p["id"] for r in s.pool_rules.values()):
        raise WfError(400, "Pool id=%s is referenced by a pool rule" % p["id"])
    if any(a.pool_id == p["id"] and not a.done for a in s.attempts.values()):
        raise WfError(400, "Pool id=%s has running or queued attempts" % p["id"])
    default = next(x for x in s.pools.values() if x["default"])
    default["concurrencyLimit"] += p["concurrencyLimit"]
    del s.pools[p["id"]]
    return p


def _check_rule(body, partial, s, rule=None):
    out = {}
    if not partial or "poolId" in body:
        pid = str(body.get("poolId") or "")
        if pid not in s.pools:
            raise WfError(400, "poolId does not exist: %s" % body.get("poolId"))
        out["poolId"] = pid
    if not partial or "priority" in body:
        pr = body.get("priority")
        if not isinstance(pr, int) or isinstance(pr, bool) or not 1 <= pr <= 10000:
            raise WfError(400, "priority must be an integer between 1 and 10000")
        if any(r["priority"] == pr and r is not rule for r in s.pool_rules.values()):
            raise WfError(400, "priority %d is already used by another rule" % pr)
        out["priority"] = pr
    if not partial or "conditions" in body:
        conds = body.get("conditions")
        if not isinstance(conds, list) or not 1 <= len(conds) <= 2:
            raise WfError(400, "conditions must have 1 or 2 items")
        for c in conds:
            if not isinstance(c, dict) or not isinstance(c.get("values"), list):
                raise WfError(400, "each condition needs type and values")
            t = c.get("type")
            if t == "invocation_type":
                if not all(v in ("on_demand", "scheduled") for v in c["values"]):
                    raise WfError(400, "invocation_type values must be on_demand or scheduled")
            elif t in ("project_name", "workflow_name"):
                if c.get("operator") != "starts_with":
                    raise WfError(400, "operator must be starts_with")
            elif t == "workflow_type":
                if not all(v in WORKFLOW_TYPES for v in c["values"]):
                    raise WfError(400, "unknown workflow_type value")
            else:
                raise WfError(400, "unknown condition type: %s" % t)
        out["conditions"] = conds
    return out


def _rule_or_404(rid):
    r = S().pool_rules.get(str(path_id(rid)))
    if r is None:
        raise WfError(404, "Pool rule not found: id=%s" % rid)
    return r


def h_pool_rules(req):
    return {"poolRules": sorted(S().pool_rules.values(), key=lambda r: r["priority"])}


def h_pool_rule(req, poolRuleId):
    return _rule_or_404(poolRuleId)


def h_create_pool_rule(req):
    s = S()
    fields = _check_rule(json_body(req), False, s)
    rid = str(s.new_id("pool_rule"))
    r = dict(fields, id=rid)
    s.pool_rules[rid] = r
    return Response.json(r, status=201)


def h_update_pool_rule(req, poolRuleId):
    s = S()
    r = _rule_or_404(poolRuleId)
    r.update(_check_rule(json_body(req), True, s, r))
    return r


def h_delete_pool_rule(req, poolRuleId):
    r = _rule_or_404(poolRuleId)
    del S().pool_rules[r["id"]]
    return r


# ---------------------------------------------------------------------------


def register(app):
    app.config_defaults.update({
        "wf_mode": "polls", "wf_queued_polls": 0, "wf_task_polls": 1, "wf_cancel_polls": 1,
        "wf_queued_secs": 0.0, "wf_task_secs": 1.0, "wf_cancel_secs": 1.0,
        "wf_attempt_limit": 100, "wf_max_archive_size": MAX_ARCHIVE_SIZE,
        "wf_account_concurrency": 20,
    })
    app.on_reset(reset)
    app.on_state("workflow", dump_state)
    r = app.route
    W = {"write": True}

    r("GET", "/api/version", h_version, auth=False)
    r("GET", "/api/version/check", h_version_check, auth=False)

    r("GET", "/api/projects", h_projects)
    r("PUT", "/api/projects", h_put_project, **W)
    r("GET", "/api/project", h_project_by_name)
    r("GET", "/api/projects/<id>", h_project)
    r("DELETE", "/api/projects/<id>", h_delete_project, **W)
    r("GET", "/api/projects/<id>/revisions", h_revisions)
    r("GET", "/api/projects/<id>/workflows", h_project_workflows)
    r("GET", "/api/projects/<id>/workflows/<name>", h_project_workflow)
    r("GET", "/api/projects/<id>/schedules", h_project_schedules)
    r("GET", "/api/projects/<id>/sessions", h_project_sessions)
    r("GET", "/api/projects/<id>/archive", h_archive)
    r("GET", "/api/projects/<id>/secrets", h_secrets)
    r("PUT", "/api/projects/<id>/secrets/<key>", h_put_secret, **W)
    r("DELETE", "/api/projects/<id>/secrets/<key>", h_delete_secret, **W)

    r("GET", "/api/workflows", h_workflows)
    r("GET", "/api/workflow", h_workflow_by_names)
    r("GET", "/api/workflows/<id>", h_workflow)
    r("GET", "/api/workflows/<id>/truncated_session_time", h_truncated)

    r("GET", "/api/schedules", h_schedules)
    r("GET", "/api/schedules/<id>", h_schedule)
    r("POST", "/api/schedules/<id>/enable", h_enable, **W)
    r("POST", "/api/schedules/<id>/disable", h_disable, **W)
    r("POST", "/api/schedules/<id>/skip", h_skip, **W)
    r("POST", "/api/schedules/<id>/backfill", h_backfill)

    r("GET", "/api/sessions", h_sessions)
    r("GET", "/api/sessions/<id>", h_session)
    r("GET", "/api/sessions/<id>/attempts", h_session_attempts)

    r("GET", "/api/attempts", h_attempts)
    r("PUT", "/api/attempts", h_start_attempt)
    r("GET", "/api/attempts/<id>", h_attempt)
    r("GET", "/api/attempts/<id>/tasks", h_attempt_tasks)
    r("GET", "/api/attempts/<id>/retries", h_attempt_retries)
    r("POST", "/api/attempts/<id>/kill", h_kill)

    r("GET", "/api/logs/<attempt_id>/files", h_log_files)
    r("GET", "/api/logs/<attempt_id>/files/<file_name>", h_log_file)
    r("GET", "/fake-s3/td-workflow-<kind>/<a>/<b>/<filename>", h_direct, auth=False)

    r("GET", "/api/pools", h_pools)
    r("POST", "/api/pools", h_create_pool, **W)
    r("GET", "/api/pools/<poolId>", h_pool)
    r("PATCH", "/api/pools/<poolId>", h_update_pool, **W)
    r("DELETE", "/api/pools/<poolId>", h_delete_pool, **W)
    r("GET", "/api/pool_rules", h_pool_rules)
    r("POST", "/api/pool_rules", h_create_pool_rule, **W)
    r("GET", "/api/pool_rules/<poolRuleId>", h_pool_rule)
    r("PATCH", "/api/pool_rules/<poolRuleId>", h_update_pool_rule, **W)
    r("DELETE", "/api/pool_rules/<poolRuleId>", h_delete_pool_rule, **W)
