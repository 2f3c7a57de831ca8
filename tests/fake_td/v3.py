"""The /v3 REST API of the fake Treasure Data server: state and handlers.

State (databases, tables, jobs, schedules, saved results, users, bulk
import sessions) lives in one ``V3State`` object that ``reset`` rebuilds
from the seed.  Handlers run under ``app.lock``, except job/result, which
renders and serves result bytes outside the global lock (each job caches its
renderings under its own lock).

Jobs advance queued -> running -> success|error|killed, one step per poll
of job/status, job/status_by_domain_key or job/show (``mode: polls``), or by
elapsed time (``mode: time``).  What a job does is decided by directives in
its query text (``fake_error``, ``fake_killed``, ``fake_stuck``,
``fake_rows(N)``, ``fake_bigint``, GROUP BY over pageviews, SELECT <int>);
see README.md.
"""

import base64
import calendar
import csv
import gzip
import hashlib
import io
import json
import re
import struct
import threading
import time

import msgpack

from server import ApiError, Response, serve_bytes

try:
    import zoneinfo
except ImportError:  # pragma: no cover
    zoneinfo = None

# ---------------------------------------------------------------------------
# Time helpers

BASE_EPOCH = calendar.timegm((2026, 11, 22, 10, 0, 0))


def td_time(epoch):
    """'2026-11-22 10:00:00 UTC' (or '' for None)."""
    if epoch is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(epoch)))


def iso_time(epoch):
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def ts(y, mo, d, h=0, mi=0, s=0):
    return calendar.timegm((y, mo, d, h, mi, s))


# ---------------------------------------------------------------------------
# Small parameter helpers

NAME_RE = re.compile(r"^[a-z0-9_]{3,255}$")


def check_name(kind, name):
    if not NAME_RE.match(name or ""):
        raise ApiError(400, "Name must be 3 to 255 characters long and contain only "
                       "lower-case letters, numbers and '_': %s '%s'" % (kind, name))


def as_bool(v, default=False):
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def as_int(name, v, default=None, lo=None, hi=None):
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise ApiError(400, "%s must be an integer: %r" % (name, v))
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise ApiError(400, "%s must be between %s and %s: %d" % (name, lo, hi, n))
    return n


def parse_schema(v):
    """A schema param: JSON string or array of [name, type(, alias(, desc))]."""
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            raise ApiError(400, "schema is not valid JSON: %r" % v[:200])
    if not isinstance(v, list):
        raise ApiError(400, "schema must be an array of [name, type] pairs")
    out = []
    for col in v:
        if (not isinstance(col, list) or not 2 <= len(col) <= 4
                or not all(isinstance(x, str) for x in col) or not col[0]):
            raise ApiError(400, "invalid schema column: %r" % (col,))
        if col[0] in ("time", "v") and col[1] not in ("long", "int", "bigint"):
            raise ApiError(400, "column name '%s' is reserved" % col[0])
        out.append(list(col))
    return out


def gz(data):
    return gzip.compress(data, compresslevel=1, mtime=0)


# ---------------------------------------------------------------------------
# Seed data

ACCOUNT_ID = 1
WWW_PATHS = ["/category/electronics", "/item/books/4053", "/search/?c=Games",
             "/category/software", "/item/garden/2145", "/category/toys"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
          "Mozilla/5.0 (compatible; Googlebot/2.1)"]
SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "INTC", "CSCO", "ORCL", "QCOM", "ADBE", "NFLX"]
COUNTRY_PV = [("JP", 120), ("US", 95), ("DE", 61), ("FR", 48), ("BR", 33), ("IN", 21)]


def _www_access_row(i):
    return {"host": "192.168.%d.%d" % (i % 250, (i * 7) % 250),
            "path": WWW_PATHS[i % len(WWW_PATHS)],
            "method": "POST" if i % 10 == 0 else "GET",
            "referer": "-" if i % 3 else "https://www.example.com/",
            "code": 404 if i % 17 == 0 else 200,
            "agent": AGENTS[i % len(AGENTS)],
            "user": "-", "size": 1000 + (i * 37) % 4000,
            "time": 1412320845 + i * 60}


def _nasdaq_row(i):
    base = 10.0 + (i * 13) % 500 / 4.0
    return {"symbol": SYMBOLS[i % len(SYMBOLS)], "open": base,
            "volume": 100000 + (i * 7919) % 900000, "high": base + 1.25,
            "low": base - 0.75, "close": base + 0.5,
            "time": 946684800 + (i // len(SYMBOLS)) * 86400}


def _pageviews_row(i):
    acc = 0
    country = COUNTRY_PV[-1][0]
    for c, n in COUNTRY_PV:
        acc += n
        if i < acc:
            country = c
            break
    return {"user_id": "u%05d" % (i * 31 % 10007), "path": "/p/%d" % (i % 40),
            "country": country, "referer": "-" if i % 4 else "https://search.example.com/",
            "time": BASE_EPOCH - 86400 + i * 30}


SEED_TABLES = {
    "sample_datasets": [
        ("www_access", 101, 5000, _www_access_row,
         [["host", "string"], ["path", "string"], ["method", "string"],
          ["referer", "string"], ["code", "long"], ["agent", "string"],
          ["user", "string"], ["size", "long"]], None),
        ("nasdaq", 102, 8807, _nasdaq_row,
         [["symbol", "string"], ["open", "double"], ["volume", "long"],
          ["high", "double"], ["low", "double"], ["close", "double"]],
         {"bucket_count": 512, "partition_function": "hash",
          "columns": [{"key": "symbol", "type": "string", "name": "symbol"}]}),
    ],
    "web": [
        ("pageviews", 201, sum(n for _, n in COUNTRY_PV), _pageviews_row,
         [["user_id", "string"], ["path", "string"], ["country", "string"],
          ["referer", "string"]], None),
    ],
}


class Table:
    def __init__(self, tid, name, schema, created, seed_count=0, seed_fn=None,
                 expire_days=None, include_v=True, description=None,
                 distribution=None):
        self.id = tid
        self.name = name
        self.schema = schema
        self.created = created
        self.updated = created
        self.seed_count = seed_count
        self.seed_fn = seed_fn
        self.rows = []                      # imported records (dicts)
        self.expire_days = expire_days
        self.include_v = include_v
        self.description = description
        self.distribution = distribution
        self.delete_protected = False
        self.storage = seed_count * 120
        self.counter_updated = created if seed_count else None
        self.last_log_timestamp = seed_fn(seed_count - 1)["time"] if seed_count else None
        self.import_ids = {}                # unique_id -> import response

    @property
    def count(self):
        return self.seed_count + len(self.rows)

    def row(self, i):
        return self.seed_fn(i) if i < self.seed_count else self.rows[i - self.seed_count]

    def tail(self, n):
        n = max(0, min(n, self.count))
        return [self.row(i) for i in range(self.count - n, self.count)]

    def append(self, records, size, now):
        self.rows.extend(records)
        for r in records:
            t = r.get("time")
            if isinstance(t, int) and (self.last_log_timestamp is None or t > self.last_log_timestamp):
                self.last_log_timestamp = t
        self.storage += size
        self.counter_updated = now
        self.updated = now

    def to_json(self):
        return {"id": self.id, "name": self.name, "type": "log",
                "count": self.count, "created_at": td_time(self.created),
                "updated_at": td_time(self.updated),
                "counter_updated_at": iso_time(self.counter_updated),
                "last_log_timestamp": self.last_log_timestamp,
                "estimated_storage_size": self.storage,
                "schema": json.dumps(self.schema),
                "expire_days": self.expire_days, "include_v": self.include_v,
                "delete_protected": self.delete_protected,
                "description": self.description,
                "primary_key": None, "primary_key_type": None}


class Database:
    def __init__(self, dbid, name, created, description=None):
        self.id = dbid
        self.name = name
        self.created = created
        self.updated = created
        self.description = description
        self.delete_protected = False
        self.tables = {}

    def to_json(self, permission="administrator"):
        return {"id": str(self.id), "name": self.name,
                "count": sum(t.count for t in self.tables.values()),
                "created_at": td_time(self.created), "updated_at": td_time(self.updated),
                "organization": None, "permission": permission,
                "delete_protected": self.delete_protected,
                "user_id": 1, "description": self.description}


# ---------------------------------------------------------------------------
# Job results


class F32(float):
    """A float that is packed as msgpack float 32."""


NOTE_TEMPLATES = ["plain note %d", "comma, separated %d", 'says "hello" %d',
                  "line one\nline two %d", "tab\there %d caf\u00e9 \u65e5\u672c\u8a9e \u2713"]
ROWS_SCHEMA = [["id", "bigint"], ["name", "varchar"], ["score", "double"],
               ["active", "boolean"], ["note", "varchar"], ["tags", "array(varchar)"]]
BIGINT_SCHEMA = [["i64_max", "bigint"], ["i64_min", "bigint"], ["u64_max", "bigint"],
                 ["neg", "bigint"], ["i8", "bigint"], ["i16", "bigint"], ["i32", "bigint"],
                 ["u8", "bigint"], ["u16", "bigint"], ["u32", "bigint"],
                 ["f64", "double"], ["f32", "real"], ["fneg", "double"],
                 ["m", "map(varchar,json)"], ["bin", "varbinary"], ["nul", "varchar"],
                 ["t", "boolean"], ["f", "boolean"], ["text", "varchar"], ["arr", "array(bigint)"]]
BIGINT_ROWS = [
    [9223372036854775807, -9223372036854775808, 18446744073709551615, -1,
     -128, -32768, -2147483648, 255, 65535, 4294967295,
     3.141592653589793, F32(1.5), -0.25,
     {"a": 1, "nested": {"b": [1, 2, {"c": None}]}, "s": "x"},
     b"\x00\x01\x02\xfe\xff", None, True, False, "\u00e9" * 200, list(range(20))],
    [127, -32, 128, -33, -129, -32769, -2147483649, 256, 65536, 4294967296,
     1.0e300, F32(-2.0), 0.0, {"k%02d" % i: i for i in range(16)},
     b"", None, False, True, "y" * 70000, []],
]
GROUPBY_SCHEMA = [["country", "varchar"], ["pv", "bigint"]]
QUERY_TYPES = ("hive", "presto", "trino", "pig", "impala", "bulkload")


# GROUP BY over sample_datasets.www_access (the quickstart's query)
METHOD_COUNTS = [("GET", 4624), ("POST", 376)]


def parse_directives(query, jtype):
    """What a job will do: outcome and result kind, from its query text."""
    spec = {"outcome": "success", "kind": "none"}
    if jtype not in QUERY_TYPES or not isinstance(query, str):
        return spec
    q = query.lower()
    if "fake_error" in q:
        spec["outcome"] = "error"
    elif "fake_killed" in q:
        spec["outcome"] = "killed"
    elif "fake_stuck" in q:
        spec["outcome"] = "stuck"
    m = re.search(r"fake_rows\(\s*(\d+)\s*\)", q)
    if m:
        spec.update(kind="rows", n=int(m.group(1)))
    elif "fake_bigint" in q:
        spec["kind"] = "bigint"
    elif re.search(r"\bgroup\s+by\b", q) and "pageviews" in q:
        spec["kind"] = "groupby"
    elif re.search(r"\bgroup\s+by\b", q) and "www_access" in q:
        spec["kind"] = "methods"
    else:
        m = re.match(r"^\s*select\s+(-?\d{1,18})\s*;?\s*$", q)
        spec.update(kind="scalar", value=int(m.group(1)) if m else 1)
    return spec


def result_schema(spec):
    kind = spec["kind"]
    if kind == "rows":
        return ROWS_SCHEMA
    if kind == "bigint":
        return BIGINT_SCHEMA
    if kind == "groupby":
        return GROUPBY_SCHEMA
    if kind == "methods":
        return [["method", "varchar"], ["cnt", "bigint"]]
    if kind == "scalar":
        return [["_col0", "integer"]]
    return []


def result_count(spec):
    kind = spec["kind"]
    return {"rows": spec.get("n", 0), "bigint": len(BIGINT_ROWS),
            "groupby": len(COUNTRY_PV), "methods": len(METHOD_COUNTS),
            "scalar": 1}.get(kind, 0)


def result_rows(spec):
    kind = spec["kind"]
    if kind == "rows":
        tags = (["t0"], ["t1"], ["t2"])
        notes = NOTE_TEMPLATES
        return ([i, "name_%d" % i, i * 1.5, i % 2 == 0,
                 None if i % 7 == 0 else notes[i % 5] % i, tags[i % 3]]
                for i in range(spec["n"]))
    if kind == "bigint":
        return iter(BIGINT_ROWS)
    if kind == "groupby":
        return ([c, n] for c, n in COUNTRY_PV)
    if kind == "methods":
        return ([m, n] for m, n in METHOD_COUNTS)
    if kind == "scalar":
        return iter([[spec["value"]]])
    return iter([])


def _pack_value(packer, v):
    if isinstance(v, F32):
        return struct.pack(">Bf", 0xCA, v)
    if isinstance(v, list):
        return _array_header(len(v)) + b"".join(_pack_value(packer, x) for x in v)
    return packer.pack(v)


def _array_header(n):
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return struct.pack(">BH", 0xDC, n)
    return struct.pack(">BI", 0xDD, n)


def render_msgpack(spec):
    packer = msgpack.Packer(use_bin_type=True)
    if spec["kind"] == "bigint":
        return b"".join(_pack_value(packer, r) for r in result_rows(spec))
    return b"".join(map(packer.pack, result_rows(spec)))


def _json_default(v):
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    raise TypeError(type(v).__name__)


def _cell(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    if isinstance(v, float):
        return repr(float(v))
    return str(v)


def _tsv_escape(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def render_text(spec, fmt, header):
    names = [c[0] for c in result_schema(spec)]
    out = io.StringIO()
    if fmt == "json":
        dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
        if header:
            out.write(dumps(names) + "\n")
        for r in result_rows(spec):
            out.write(dumps(r) + "\n")
    elif fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        if header:
            w.writerow(names)
        for r in result_rows(spec):
            w.writerow([_cell(v) for v in r])
    else:  # tsv
        if header:
            out.write("\t".join(names) + "\n")
        for r in result_rows(spec):
            out.write("\t".join(_tsv_escape(_cell(v)) for v in r) + "\n")
    return out.getvalue().encode("utf-8")


RESULT_FORMATS = {
    "msgpack.gz": "application/octet-stream",
    "msgpack": "application/octet-stream",
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}


# ---------------------------------------------------------------------------
# Jobs

TERMINAL = ("success", "error", "killed")


class Job:
    def __init__(self, jid, jtype, database, query, created, user_name, **kw):
        self.id = jid
        self.type = jtype
        self.database = database
        self.query = query
        self.created = created
        self.updated = created
        self.start = None
        self.end = None
        self.status = "queued"
        self.user_name = user_name
        self.priority = kw.get("priority", 0)
        self.retry_limit = kw.get("retry_limit", 0)
        self.result_url = kw.get("result", "") or ""
        self.domain_key = kw.get("domain_key")
        self.pool_name = kw.get("pool_name")
        self.engine_version = kw.get("engine_version")
        self.scheduled_at = kw.get("scheduled_at")
        self.schedule_name = kw.get("schedule_name")
        self.result_export_target_job_id = kw.get("result_export_target_job_id")
        self.linked_result_export_job_id = None
        self.bulk_import = kw.get("bulk_import")
        self.frozen = kw.get("frozen", False)      # seeded history: never advances
        self.spec = parse_directives(query, jtype)
        self.polls = 0
        self.num_records = None
        self.result_size = None
        self.hive_result_schema = None
        self.cache = {}
        self.cache_lock = threading.Lock()

    # -- results ---------------------------------------------------------------
    def rendered(self, key):
        """Bytes of one rendering of the result, cached (byte-identical).

        key: ("msgpack",), ("msgpack.gz",), (fmt, header) for json/csv/tsv,
        or (fmt, header, "gzip") for the gzip content-encoding of those.
        """
        with self.cache_lock:
            return self._render(key)

    def _render(self, key):
        data = self.cache.get(key)
        if data is None:
            fmt = key[0]
            if fmt == "msgpack":
                data = render_msgpack(self.spec)
            elif fmt == "msgpack.gz":
                data = gz(self._render(("msgpack",)))
            elif len(key) == 3:
                data = gz(self._render(key[:2]))
            else:
                data = render_text(self.spec, fmt, key[1])
            self.cache[key] = data
        return data

    # -- JSON ------------------------------------------------------------------
    def duration(self, now):
        if self.start is None:
            return None
        end = self.end if self.end is not None else now
        return int(max(0, end - self.start))

    def status_json(self, now):
        return {"job_id": str(self.id), "status": self.status,
                "created_at": td_time(self.created), "updated_at": td_time(self.updated),
                "start_at": td_time(self.start), "end_at": td_time(self.end),
                "duration": self.duration(now), "cpu_time": None,
                "result_size": self.result_size, "num_records": self.num_records}

    def to_json(self, now, debug=False):
        d = self.status_json(now)
        d.update({
            "type": self.type, "database": self.database, "query": self.query,
            "user_name": self.user_name, "result": self.result_url,
            "url": "https://console.treasuredata.com/app/jobs/%d" % self.id,
            "hive_result_schema": self.hive_result_schema, "organization": None,
            "priority": self.priority, "retry_limit": self.retry_limit,
            "result_export_target_job_id": self.result_export_target_job_id,
            "linked_result_export_job_id": self.linked_result_export_job_id,
            "domain_key": self.domain_key, "pool_name": self.pool_name,
            "engine_version": self.engine_version,
        })
        if self.scheduled_at is not None:
            d["scheduled_at"] = td_time(self.scheduled_at)
        if debug:
            d["debug"] = {"cmdout": self.cmdout(), "stderr": self.stderr()}
        return d

    def presto_query_id(self):
        """A Presto-style query id, e.g. 20261122_100008_01026_kdhqa."""
        h = hashlib.md5(str(self.id).encode()).digest()
        tail = "".join(chr(ord("a") + b % 26) for b in h[:5])
        return "%s_%05d_%s" % (time.strftime("%Y%m%d_%H%M%S", time.gmtime(self.created)),
                               self.id % 100000, tail)

    def cmdout(self):
        if self.start is None and self.status == "queued":
            return ""
        lines = ["started at %s" % iso_time(self.start or self.created),
                 "-- job %d (%s) on database %s" % (self.id, self.type, self.database),
                 "executing query: %s" % self.presto_query_id(),
                 "stage 1: RUNNING, 4 splits"]
        if self.status in TERMINAL:
            lines.append("stage 1: %s" % ("FINISHED" if self.status == "success" else "FAILED"))
            lines.append("finished at %s" % iso_time(self.end))
            if self.status == "success":
                lines.append("%d rows" % (self.num_records or 0))
        return "\n".join(lines) + "\n"

    def stderr(self):
        if self.status == "error":
            return ("Query failed (#%s): line 1:8: Column 'nope' cannot be resolved\n"
                    "io.trino.spi.TrinoException: line 1:8: Column 'nope' cannot be resolved\n"
                    % self.presto_query_id())
        if self.status == "killed":
            return "Query %s was killed by user request\n" % self.presto_query_id()
        return ""


# ---------------------------------------------------------------------------
# Cron (enough for schedule next_time / run)

_CRON_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                 "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
                 "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DOWS = "sun mon tue wed thu fri sat".split()


def _cron_field(text, lo, hi, names=None):
    vals = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            step = int(s)
            if step <= 0:
                raise ValueError(text)
        if part == "*":
            a, b = lo, hi
        else:
            def conv(x):
                if names and x in names:
                    return names.index(x) + (1 if lo == 1 else 0)
                return int(x)
            if "-" in part:
                x, y = part.split("-", 1)
                a, b = conv(x), conv(y)
            else:
                a = conv(part)
                b = hi if step != 1 else a
        if a < lo or b > hi + (1 if hi == 6 else 0) or a > b:
            raise ValueError(text)
        vals.update(v % 7 if hi == 6 else v for v in range(a, b + 1, step))
    return vals


def parse_cron(cron):
    expr = _CRON_ALIASES.get(cron.strip().lower(), cron)
    f = expr.split()
    if len(f) != 5:
        raise ValueError(cron)
    return (_cron_field(f[0], 0, 59), _cron_field(f[1], 0, 23),
            _cron_field(f[2], 1, 31), _cron_field(f[3], 1, 12, _MONTHS),
            _cron_field(f[4], 0, 6, _DOWS), f[2] != "*", f[4] != "*")


def cron_next(cron, after, tzname="UTC"):
    """First cron time strictly after epoch ``after``, or None."""
    import datetime as dt
    if not cron or not cron.strip():
        return None
    mins, hours, doms, months, dows, dom_r, dow_r = parse_cron(cron)
    tz = dt.timezone.utc
    if zoneinfo is not None and tzname and tzname != "UTC":
        try:
            tz = zoneinfo.ZoneInfo(tzname)
        except Exception:
            tz = dt.timezone.utc
    t = dt.datetime.fromtimestamp(int(after) // 60 * 60 + 60, tz)
    day = t.replace(hour=0, minute=0, second=0)
    for _ in range(366 * 5):
        if day.month in months:
            dom_ok = day.day in doms
            dow_ok = (day.isoweekday() % 7) in dows
            ok = (dom_ok or dow_ok) if (dom_r and dow_r) else (dom_ok and dow_ok)
            if ok:
                for h in sorted(hours):
                    for mi in sorted(mins):
                        cand = day.replace(hour=h, minute=mi)
                        if cand >= t:
                            return int(cand.timestamp())
        day = (day + dt.timedelta(days=1)).replace(hour=0, minute=0)
    return None


# ---------------------------------------------------------------------------
# State


class V3State:
    def __init__(self, app):
        self.app = app
        self.t0 = time.time()
        self.databases = {}
        self.deleted_tables = []          # (Table, Database name, Database id, deleted_at)
        self.jobs = {}
        self.next_job_id = 1001
        self.next_db_id = 11
        self.next_table_id = 301
        self.schedules = {}
        self.next_schedule_id = 1
        self.results = {}
        self.users = {}
        self.next_user_id = 3
        self.bulk_imports = {}
        self.key_counter = 0
        self.idempotent_tables = {}       # (db, table) -> idempotent_key
        self.transfers = {}               # idempotent_key -> (db, table) of table/transfer
        self.seed()

    def now(self):
        return BASE_EPOCH + (time.time() - self.t0)

    # -- seed ----------------------------------------------------------------
    def seed(self):
        created = ts(2020, 1, 1)
        for dbid, (dbname, tables) in zip((1, 2), SEED_TABLES.items()):
            db = Database(dbid, dbname, created,
                          "Sample data sets" if dbname == "sample_datasets" else None)
            for name, tid, count, fn, schema, dist in tables:
                db.tables[name] = Table(tid, name, schema, ts(2020, 1, 2), count, fn,
                                        distribution=dist)
            db.updated = ts(2024, 6, 1)
            self.databases[dbname] = db
        self.users = {
            "owner": {"id": 1, "first_name": "Owner", "last_name": "User",
                      "email": "owner@example.com", "phone": None,
                      "gravatar_url": "https://www.gravatar.com/avatar/0?s=80",
                      "administrator": True, "account_owner": True,
                      "created_at": iso_time(ts(2020, 1, 1)),
                      "updated_at": iso_time(ts(2020, 1, 1)),
                      "name": "owner", "organization": None, "roles": [],
                      "password": "secret", "_permission": "full"},
            "analyst": {"id": 2, "first_name": "Ana", "last_name": "Lyst",
                        "email": "analyst@example.com", "phone": None,
                        "gravatar_url": "https://www.gravatar.com/avatar/1?s=80",
                        "administrator": False, "account_owner": False,
                        "created_at": iso_time(ts(2021, 3, 4)),
                        "updated_at": iso_time(ts(2021, 3, 4)),
                        "name": "analyst", "organization": None, "roles": [],
                        "password": "secret", "_permission": "query_only"},
        }
        self.results = {"my_postgres": {"name": "my_postgres",
                                        "url": "postgresql://db.example.com:5432/analytics/summary",
                                        "organization": None}}
        # 25 historical jobs, ids 1001..1025, oldest first.
        for k in range(1, 26):
            created = BASE_EPOCH - (26 - k) * 3600
            if k == 25:
                status = "queued"
            elif k in (23, 24):
                status = "running"
            elif k % 5 == 3:
                status = "error"
            else:
                status = "success"
            if status == "error":
                query = "SELECT nope FROM www_access -- fake_error"
            elif k % 4 == 0:
                query = "SELECT * FROM www_access -- fake_rows(%d)" % k
            else:
                query = "SELECT %d" % k
            job = Job(self.next_job_id, "presto" if k % 2 else "hive", "sample_datasets",
                      query, created, "owner" if k % 3 else "analyst",
                      frozen=True, priority=(k % 5) - 2, retry_limit=k % 3)
            self.next_job_id += 1
            dur = 4000 + k if k % 6 == 0 else 5 + (k * 37) % 120
            if status != "queued":
                job.start = created + 2
                job.status = "running"
            if status in TERMINAL:
                job.end = job.start + dur
                self.finish(job, status, job.end)
            job.updated = job.end or job.start or created
            self.jobs[job.id] = job

    # -- lookups ---------------------------------------------------------------
    def db(self, name):
        d = self.databases.get(name)
        if d is None:
            raise ApiError(404, "Database '%s' does not exist" % name)
        return d

    def table(self, dbname, name):
        d = self.db(dbname)
        t = d.tables.get(name)
        if t is None:
            raise ApiError(404, "Table '%s' does not exist in database '%s'" % (name, dbname))
        return d, t

    def job(self, jid):
        j = self.jobs.get(int(jid)) if str(jid).isdigit() else None
        if j is None:
            raise ApiError(404, "Job '%s' does not exist" % jid)
        return j

    def schedule(self, name):
        s = self.schedules.get(name)
        if s is None:
            raise ApiError(404, "Schedule '%s' does not exist" % name)
        return s

    def bulk(self, name):
        b = self.bulk_imports.get(name)
        if b is None:
            raise ApiError(404, "Bulk import session '%s' does not exist" % name)
        return b

    def user(self, name):
        u = self.users.get(name)
        if u is None:
            raise ApiError(404, "User '%s' does not exist" % name)
        return u

    # -- job flow ---------------------------------------------------------------
    def new_job(self, jtype, database, query, user, **kw):
        dk = kw.get("domain_key")
        if dk:
            for j in self.jobs.values():
                if j.domain_key == dk:
                    raise ApiError(409, "Domain key '%s' already exists" % dk,
                                   details={"conflicts_with": str(j.id)})
        job = Job(self.next_job_id, jtype, database, query, int(self.now()), user, **kw)
        self.next_job_id += 1
        self.jobs[job.id] = job
        # a zero-length flow finishes at once
        self.advance(job, poll=False)
        return job

    def set_running(self, job, at):
        job.status = "running"
        job.start = at
        job.updated = at

    def finish(self, job, status, at):
        if job.start is None and status != "killed":
            job.start = at
        job.status = status
        job.end = at
        job.updated = at
        if status == "success":
            job.num_records = result_count(job.spec)
            job.result_size = len(job.rendered(("msgpack.gz",)))
            schema = result_schema(job.spec)
            job.hive_result_schema = json.dumps(schema) if schema else None
        if job.bulk_import:
            b = self.bulk_imports.get(job.bulk_import)
            if b is not None and b["job_id"] == job.id:
                self.bulk_performed(b, status)

    def advance(self, job, poll):
        """Move a job along its life cycle (one step per poll, or by time)."""
        if job.frozen or job.status in TERMINAL:
            return
        cfg = self.app.config
        outcome = job.spec["outcome"]
        if cfg.get("mode") == "time":
            q = float(cfg.get("queued_secs", 1))
            r = float(cfg.get("running_secs", 2))
            el = self.now() - job.created
            if job.status == "queued" and el >= q:
                self.set_running(job, int(job.created + q))
            if job.status == "running" and el >= q + r and outcome != "stuck":
                self.finish(job, outcome, int(job.created + q + r))
            return
        # polls mode: the n-th poll sees queued while n <= queued_polls,
        # running while n <= queued_polls + running_polls, then the outcome.
        if poll:
            job.polls += 1
        q = int(cfg.get("queued_polls", 1))
        r = int(cfg.get("running_polls", 2))
        now = int(self.now())
        if job.status == "queued" and job.polls > q:
            self.set_running(job, now)
        if job.status == "running" and outcome != "stuck" and job.polls > q + r:
            self.finish(job, outcome, now)

    def advance_all(self):
        if self.app.config.get("mode") == "time":
            for j in list(self.jobs.values()):
                self.advance(j, poll=False)

    # -- bulk import -------------------------------------------------------------
    def bulk_json(self, b):
        self.bulk_tick(b)
        return {"name": b["name"], "database": b["database"], "table": b["table"],
                "status": b["status"],
                "job_id": str(b["job_id"]) if b["job_id"] is not None else None,
                "upload_frozen": b["upload_frozen"],
                "valid_records": b["valid_records"], "error_records": b["error_records"],
                "valid_parts": b["valid_parts"], "error_parts": b["error_parts"]}

    def bulk_performed(self, b, status):
        if status != "success":
            b["status"] = "uploading"
            return
        parts = b["parts"].values()
        b["valid_records"] = sum(len(p["records"]) for p in parts)
        b["error_records"] = sum(len(p["errors"]) for p in parts)
        b["valid_parts"] = sum(1 for p in parts if not p["broken"])
        b["error_parts"] = sum(1 for p in parts if p["broken"])
        b["status"] = "ready"

    def bulk_tick(self, b):
        """Advance a committing session (one show/list poll, or by time)."""
        if b["job_id"] is not None and b["status"] == "performing":
            self.advance(self.jobs[b["job_id"]], poll=False)
        if b["status"] != "committing":
            return
        cfg = self.app.config
        if cfg.get("mode") == "time":
            done = self.now() - b["commit_started"] >= float(cfg.get("running_secs", 2))
        else:
            b["commit_polls"] -= 1
            done = b["commit_polls"] < 0
        if done:
            try:
                _, t = self.table(b["database"], b["table"])
            except ApiError:
                t = None
            if t is not None:
                recs = [r for p in b["parts"].values() for r in p["records"]]
                t.append(recs, sum(p["size"] for p in b["parts"].values()), int(self.now()))
            b["status"] = "committed"


STATE = None


def S():
    return STATE


def reset(app):
    global STATE
    STATE = V3State(app)


def dump_state(app):
    s = STATE
    by_status = {}
    for j in s.jobs.values():
        by_status[j.status] = by_status.get(j.status, 0) + 1
    return {
        "databases": {d.name: {n: t.count for n, t in d.tables.items()}
                      for d in s.databases.values()},
        "jobs": len(s.jobs), "jobs_by_status": by_status,
        "last_job_id": str(s.next_job_id - 1),
        "schedules": sorted(s.schedules), "results": sorted(s.results),
        "users": sorted(s.users), "bulk_imports": sorted(s.bulk_imports),
        "deleted_tables": len(s.deleted_tables),
    }


# ---------------------------------------------------------------------------
# Handlers: system, account


def h_server_status(req):
    return {"status": "ok"}


def h_account_show(req):
    s = S()
    storage = sum(t.storage for d in s.databases.values() for t in d.tables.values())
    return {"account": {"id": ACCOUNT_ID, "plan": 12, "storage_size": storage,
                        "guaranteed_cores": 0, "maximum_cores": 0,
                        "created_at": "2020-01-01 00:00:00 UTC", "presto_plan": 0,
                        "encrypt_start_at": None}}


# ---------------------------------------------------------------------------
# Databases


def _perm(req):
    return "query_only" if req.permission == "query_only" else "administrator"


def h_db_list(req):
    return {"databases": [d.to_json(_perm(req)) for d in S().databases.values()]}


def h_db_show(req, db):
    return S().db(db).to_json(_perm(req))


def h_db_create(req, db):
    s = S()
    check_name("database", db)
    if db in s.databases:
        raise ApiError(409, "Database '%s' already exists" % db)
    d = Database(s.next_db_id, db, int(s.now()), req.param("description"))
    s.next_db_id += 1
    s.databases[db] = d
    return {"database": db}


def h_db_delete(req, db):
    s = S()
    d = s.db(db)
    if d.delete_protected:
        raise ApiError(403, "Database '%s' is delete protected" % db)
    for t in d.tables.values():
        s.deleted_tables.append((t, d.name, d.id, int(s.now())))
    del s.databases[db]
    return {"database": db}


# ---------------------------------------------------------------------------
# Tables


def h_table_list(req, db):
    d = S().db(db)
    return {"database": db, "tables": [t.to_json() for t in d.tables.values()]}


def h_table_show(req, db, table):
    return S().table(db, table)[1].to_json()


def h_table_create(req, db, table, type="log"):
    s = S()
    d = s.db(db)
    if type != "log":
        raise ApiError(400, "Table type '%s' is not supported (only 'log')" % type)
    check_name("table", table)
    key = req.param("idempotent_key")
    if table in d.tables:
        if key and s.idempotent_tables.get((db, table)) == key:
            return {"database": db, "table": table, "type": "log"}
        raise ApiError(409, "Table '%s' already exists in database '%s'" % (table, db))
    schema = parse_schema(req.param("schema")) if req.param("schema") not in (None, "") else []
    expire = as_int("expire_days", req.param("expire_days"), None, 0)
    t = Table(s.next_table_id, table, schema, int(s.now()),
              expire_days=expire or None,
              include_v=as_bool(req.param("include_v"), True),
              description=req.param("description"))
    s.next_table_id += 1
    d.tables[table] = t
    d.updated = t.created
    if key:
        s.idempotent_tables[(db, table)] = key
    return {"database": db, "table": table, "type": "log"}


def h_table_delete(req, db, table):
    s = S()
    d, t = s.table(db, table)
    if t.delete_protected:
        raise ApiError(403, "Table '%s' is delete protected" % table)
    del d.tables[table]
    s.deleted_tables.append((t, d.name, d.id, int(s.now())))
    return {"database": db, "table": table, "type": "log"}


def h_table_swap(req, db, t1, t2):
    s = S()
    d, a = s.table(db, t1)
    _, b = s.table(db, t2)
    a.name, b.name = t2, t1
    d.tables[t1], d.tables[t2] = b, a
    return {"database": db, "table1": t1, "table2": t2}


def h_table_rename(req, db, table, new):
    s = S()
    d, t = s.table(db, table)
    check_name("table", new)
    if new in d.tables and new != table:
        if not as_bool(req.param("overwrite")):
            raise ApiError(409, "Table '%s' already exists in database '%s'" % (new, db))
        s.deleted_tables.append((d.tables.pop(new), d.name, d.id, int(s.now())))
    del d.tables[table]
    t.name = new
    d.tables[new] = t
    return {"database": db, "table": new, "type": "log"}


def _update_table_fields(req, d, t):
    p = req.params
    if "expire_days" in p:
        n = as_int("expire_days", p["expire_days"], 0, 0)
        t.expire_days = n or None
    if "include_v" in p:
        t.include_v = as_bool(p["include_v"])
    if "description" in p:
        t.description = p["description"]
    if "schema" in p:
        t.schema = parse_schema(p["schema"])
    if p.get("name") and p["name"] != t.name:
        new = p["name"]
        check_name("table", new)
        if new in d.tables and not as_bool(p.get("overwrite")):
            raise ApiError(409, "Table '%s' already exists in database '%s'" % (new, d.name))
        del d.tables[t.name]
        t.name = new
        d.tables[new] = t
    t.updated = int(S().now())


def h_table_update(req, db, table):
    d, t = S().table(db, table)
    _update_table_fields(req, d, t)
    return {"database": db, "table": t.name, "type": "log"}


def h_table_update_schema(req, db, table):
    d, t = S().table(db, table)
    if req.param("schema") is None:
        raise ApiError(400, "schema is required")
    _update_table_fields(req, d, t)
    return {"database": db, "table": t.name, "type": "log"}


def h_table_append_schema(req, db, table):
    d, t = S().table(db, table)
    if req.param("schema") is None:
        raise ApiError(400, "schema is required")
    have = {c[0] for c in t.schema}
    for col in parse_schema(req.param("schema")):
        if col[0] not in have:
            t.schema.append(col)
            have.add(col[0])
    t.updated = int(S().now())
    return {"database": db, "table": t.name, "type": "log"}


def _tail_records(req, db, table):
    fmt = req.param("format")
    for suffix in (".msgpack", ".json"):
        if table.endswith(suffix):
            table, fmt = table[:-len(suffix)], suffix[1:]
    _, t = S().table(db, table)
    n = as_int("count", req.param("count"), 10, 0)
    return t.tail(n), fmt or "msgpack"


def h_table_tail(req, db, table):
    rows, fmt = _tail_records(req, db, table)
    if fmt == "json":
        return Response.json(rows)
    packer = msgpack.Packer(use_bin_type=True)
    return Response(200, b"".join(packer.pack(r) for r in rows), "application/x-msgpack")


def h_table_distribution(req, db, table):
    _, t = S().table(db, table)
    if not t.distribution:
        raise ApiError(404, "Table '%s' in database '%s' has no distribution" % (table, db))
    return t.distribution


def h_table_change_database(req, db, table):
    s = S()
    d, t = s.table(db, table)
    dest = req.param("dest_database_name")
    if not dest:
        raise ApiError(400, "dest_database_name is required")
    dd = s.db(dest)
    if table in dd.tables:
        raise ApiError(409, "Table '%s' already exists in database '%s'" % (table, dest))
    del d.tables[table]
    dd.tables[table] = t
    return {"database": dest, "table": table, "type": "log"}


def h_table_transfer(req, db, table):
    """Move a table to "another account": the Secondary-Authorization key
    must be a known key with full permission; the fake has one account, so
    the table lands in dest_database_name there."""
    s = S()
    auth = req.header("Secondary-Authorization") or ""
    m = re.match(r"^TD1 (\S+)$", auth.strip())
    info = req.app.keys.get(m.group(1)) if m else None
    if info is None:
        raise ApiError(401, "Secondary-Authorization must carry the destination account's valid API key")
    if info["permission"] == "query_only":
        raise ApiError(403, "The destination API key cannot create tables")
    dest_db, dest = req.param("dest_database_name"), req.param("dest_table_name")
    if not dest_db or not dest:
        raise ApiError(400, "dest_database_name and dest_table_name are required")
    key = req.param("idempotent_key")
    if key and s.transfers.get(key) == (dest_db, dest):
        return {"database_name": dest_db, "table_name": dest}
    d, t = s.table(db, table)
    check_name("table", dest)
    dd = s.db(dest_db)
    if dest in dd.tables:
        raise ApiError(409, "Table '%s' already exists in database '%s'" % (dest, dest_db))
    del d.tables[table]
    t.name = dest
    dd.tables[dest] = t
    if key:
        s.transfers[key] = (dest_db, dest)
    return {"database_name": dest_db, "table_name": dest}


def h_table_deleted(req):
    s = S()
    cursor = as_int("cursor_id", req.param("cursor_id"), None)
    size = as_int("page_size", req.param("page_size"), 25, 1, 100)
    dbid = as_int("database_id", req.param("database_id"), None)
    items = sorted(s.deleted_tables, key=lambda x: x[0].id)
    items = [x for x in items if (cursor is None or x[0].id > cursor)
             and (dbid is None or x[2] == dbid)]
    page = items[:size]
    return {"tables": [{"id": t.id, "name": t.name, "database_id": dbi,
                        "database_name": dbn, "deleted_at": td_time(at),
                        "created_at": td_time(t.created)} for t, dbn, dbi, at in page],
            "cursor_id": page[-1][0].id if len(items) > size else None}


def h_table_recover(req, table_id):
    s = S()
    tid = as_int("table_id", table_id)
    for i, (t, dbn, dbi, at) in enumerate(s.deleted_tables):
        if t.id == tid:
            break
    else:
        raise ApiError(404, "Deleted table '%s' does not exist" % table_id)
    dbname = req.param("database_name") or dbn
    name = req.param("table_name") or t.name
    d = s.databases.get(dbname)
    if d is None:
        d = Database(dbi if dbname == dbn else s.next_db_id, dbname, int(s.now()))
        if dbname != dbn:
            s.next_db_id += 1
        s.databases[dbname] = d
    if name in d.tables:
        raise ApiError(409, "Table '%s' already exists in database '%s'" % (name, dbname))
    del s.deleted_tables[i]
    t.name = name
    d.tables[name] = t
    out = t.to_json()
    for k in ("schema", "description", "primary_key", "primary_key_type"):
        out.pop(k, None)
    return out


# ---------------------------------------------------------------------------
# Streaming import


def decode_msgpack_stream(data, what="body"):
    up = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=max(len(data), 1 << 20))
    up.feed(data)
    out = []
    pos = 0      # end of the last complete object
    try:
        for obj in up:
            out.append(obj)
            pos = up.tell()
    except Exception as e:
        raise ApiError(400, "cannot decode msgpack %s: %s" % (what, e))
    if pos != len(data):
        raise ApiError(400, "cannot decode msgpack %s: truncated after %d of %d bytes"
                       % (what, pos, len(data)))
    return out


def decode_upload(data, fmt):
    if fmt == "msgpack.gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise ApiError(400, "cannot gunzip the body: %s" % e)
    elif fmt != "msgpack":
        raise ApiError(400, "unsupported import format '%s' (use msgpack.gz)" % fmt)
    return decode_msgpack_stream(data)


def h_import(req, db, table, format, unique_id=None):
    s = S()
    _, t = s.table(db, table)
    start = time.time()
    md5 = hashlib.md5(req.body).hexdigest()
    if unique_id is not None and unique_id in t.import_ids:
        return t.import_ids[unique_id]
    records = decode_upload(req.body, format)
    for r in records:
        if not isinstance(r, dict):
            raise ApiError(400, "each record must be a map, got %s" % type(r).__name__)
    t.append(records, len(req.body), int(s.now()))
    uid = unique_id or hashlib.md5(("%s/%s/%d/%s" % (db, table, len(t.rows), md5)).encode()).hexdigest()
    out = {"database": db, "table": table, "elapsed_time": round(time.time() - start, 3),
           "md5_hex": md5, "unique_id": uid}
    if unique_id is not None:
        t.import_ids[unique_id] = out
    return out


# ---------------------------------------------------------------------------
# Jobs


def h_job_list(req):
    s = S()
    s.advance_all()
    now = s.now()
    jobs = sorted(s.jobs.values(), key=lambda j: -j.id)
    status = req.param("status")
    if status:
        jobs = [j for j in jobs if j.status == status]
    slower = as_int("slower_than", req.param("slower_than"), None)
    if slower is not None:
        jobs = [j for j in jobs if (j.duration(now) or 0) >= slower]
    frm = as_int("from", req.param("from"), None, 0)
    to = as_int("to", req.param("to"), None, 0)
    a = frm or 0
    b = to if to is not None else a + 19
    return {"count": len(jobs), "from": frm, "to": to,
            "jobs": [j.to_json(now) for j in jobs[a:b + 1]]}


def _poll(job_id=None, domain_key=None):
    """Find a job and advance it by one poll."""
    s = S()
    if domain_key is not None:
        job = next((j for j in s.jobs.values() if j.domain_key == domain_key), None)
        if job is None:
            raise ApiError(404, "Job with domain key '%s' does not exist" % domain_key)
    else:
        job = s.job(job_id)
    s.advance(job, poll=True)
    return s, job


def h_job_status(req, job_id):
    s, job = _poll(job_id)
    return job.status_json(s.now())


def h_job_status_by_domain_key(req, domain_key):
    s, job = _poll(domain_key=domain_key)
    return job.status_json(s.now())


def h_job_show(req, job_id):
    s, job = _poll(job_id)
    return job.to_json(s.now(), debug=True)


def h_job_statistics(req, job_id):
    s = S()
    job = s.job(job_id)
    return {"records_inserted": str(job.num_records or 0)}


def _job_kwargs(req):
    p = req.params
    result = p.get("result") or ""
    if result and "://" not in result and result not in S().results:
        raise ApiError(422, "Invalid result URL or unknown saved result: '%s'" % result)
    return {"priority": as_int("priority", p.get("priority"), 0, -2, 2),
            "retry_limit": as_int("retry_limit", p.get("retry_limit"), 0, 0, 32),
            "result": result, "domain_key": p.get("domain_key") or None,
            "pool_name": p.get("pool_name") or None,
            "engine_version": p.get("engine_version") or None}


def h_job_issue(req, type, db):
    s = S()
    if type not in QUERY_TYPES:
        raise ApiError(400, "Unknown job type '%s'" % type)
    s.db(db)
    query = req.param("query")
    if type == "bulkload":
        query = req.param("config") if query is None else query
        if query is None:
            raise ApiError(400, "config is required for bulkload jobs")
    elif not isinstance(query, str) or not query.strip():
        raise ApiError(400, "Query is required")
    job = s.new_job(type, db, query, req.user, **_job_kwargs(req))
    return {"job": str(job.id), "job_id": str(job.id), "database": db}


def h_job_kill(req, job_id):
    s = S()
    job = s.job(job_id)
    former = job.status
    if former not in TERMINAL:
        s.finish(job, "killed", int(s.now()))
    return {"former_status": former, "job_id": str(job.id)}


def h_job_result(req, job_id):
    app = req.app
    with app.lock:
        s = S()
        job = s.job(job_id)
        s.advance(job, poll=False)
        status = job.status
    if status != "success":
        raise ApiError(404, "Job '%s' has no result: its status is %s" % (job_id, status))
    fmt = req.param("format") or "tsv"
    if fmt not in RESULT_FORMATS:
        raise ApiError(400, "Unknown result format '%s'" % fmt)
    header = as_bool(req.param("header"))
    ctype = RESULT_FORMATS[fmt]
    extra = []
    if fmt == "msgpack.gz":
        key = ("msgpack.gz",)
    elif fmt == "msgpack":
        key = ("msgpack",)
    else:
        key = (fmt, header)
    if fmt != "msgpack.gz" and app.config.get("result_gzip", True) and req.accepts_gzip():
        key = ("msgpack.gz",) if fmt == "msgpack" else key + ("gzip",)
        extra = [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    data = job.rendered(key)
    return serve_bytes(req, data, ctype, extra)


def h_job_result_export(req, job_id):
    s = S()
    target = s.job(job_id)
    if target.status != "success":
        raise ApiError(422, "Job '%s' has not finished successfully (status %s)"
                       % (job_id, target.status))
    if not req.param("result") and not req.param("result_connection_id"):
        raise ApiError(400, "result or result_connection_id is required")
    kw = _job_kwargs(req)
    kw["result_export_target_job_id"] = target.id
    job = s.new_job("result_export", target.database, None, req.user, **kw)
    target.linked_result_export_job_id = job.id
    return job.to_json(s.now(), debug=True)


def h_export_run(req, db, table):
    s = S()
    s.table(db, table)
    if (req.param("storage_type") or "s3") != "s3":
        raise ApiError(400, "storage_type must be 's3'")
    if not req.param("bucket"):
        raise ApiError(400, "bucket is required")
    fmt = req.param("file_format") or "json.gz"
    if fmt not in ("json.gz", "line-json.gz", "tsv.gz", "jsonl.gz"):
        raise ApiError(400, "unsupported file_format '%s'" % fmt)
    kw = {"domain_key": req.param("domain_key") or None,
          "pool_name": req.param("pool_name") or None}
    job = s.new_job("export", db, None, req.user, **kw)
    return {"job": str(job.id), "job_id": str(job.id), "database": db}


# ---------------------------------------------------------------------------
# Schedules

SCHEDULE_FIELDS = ("cron", "query", "database", "type", "timezone", "delay", "priority",
                   "retry_limit", "result", "engine_version", "pool_name")


def schedule_json(s, sc):
    nxt = None
    if sc["cron"]:
        nxt = cron_next(sc["cron"], s.now(), sc["timezone"])
    return {"id": sc["id"], "name": sc["name"], "cron": sc["cron"],
            "timezone": sc["timezone"], "delay": sc["delay"],
            "created_at": iso_time(sc["created"]), "type": sc["type"],
            "query": sc["query"], "database": sc["database"],
            "user_name": sc["user_name"], "priority": sc["priority"],
            "retry_limit": sc["retry_limit"], "result": sc["result"],
            "engine_version": sc["engine_version"], "pool_name": sc["pool_name"],
            "executing_user_id": 1, "next_time": iso_time(nxt)}


def _apply_schedule_params(s, sc, p):
    for k in SCHEDULE_FIELDS:
        if k not in p:
            continue
        v = p[k]
        if k in ("delay",):
            sc[k] = as_int(k, v, 0, 0)
        elif k == "priority":
            sc[k] = as_int(k, v, 0, -2, 2)
        elif k == "retry_limit":
            sc[k] = as_int(k, v, 0, 0, 32)
        elif k == "cron":
            v = "" if v is None else str(v)
            if v.strip():
                try:
                    parse_cron(v)
                except (ValueError, IndexError):
                    raise ApiError(422, "Invalid cron expression: '%s'" % v)
            sc[k] = v
        elif k == "database":
            s.db(v)
            sc[k] = v
        elif k == "timezone":
            if v and v != "UTC" and zoneinfo is not None:
                try:
                    zoneinfo.ZoneInfo(v)
                except Exception:
                    raise ApiError(422, "Unknown timezone '%s'" % v)
            sc[k] = v or "UTC"
        else:
            sc[k] = v


def h_schedule_list(req):
    s = S()
    return {"schedules": [schedule_json(s, sc) for sc in s.schedules.values()]}


def h_schedule_create(req, name):
    s = S()
    p = req.params
    if name in s.schedules:
        raise ApiError(409, "Schedule '%s' already exists" % name)
    if "cron" not in p:
        raise ApiError(400, "cron is required")
    if not p.get("query"):
        raise ApiError(400, "query is required")
    if not p.get("database"):
        raise ApiError(400, "database is required")
    sc = {"id": s.next_schedule_id, "name": name, "cron": "", "timezone": "UTC",
          "delay": 0, "created": int(s.now()), "type": "hive", "query": None,
          "database": None, "user_name": req.user, "priority": 0, "retry_limit": 0,
          "result": "", "engine_version": None, "pool_name": None}
    _apply_schedule_params(s, sc, p)
    s.next_schedule_id += 1
    s.schedules[name] = sc
    out = schedule_json(s, sc)
    out["start"] = out["next_time"]
    return out


def h_schedule_update(req, name):
    s = S()
    sc = s.schedule(name)
    p = req.params
    _apply_schedule_params(s, sc, p)
    new = p.get("name")
    if new and new != name:
        if new in s.schedules:
            raise ApiError(409, "Schedule '%s' already exists" % new)
        del s.schedules[name]
        sc["name"] = new
        s.schedules[new] = sc
        for j in s.jobs.values():
            if j.schedule_name == name:
                j.schedule_name = new
    return schedule_json(s, sc)


def h_schedule_delete(req, name):
    s = S()
    sc = s.schedule(name)
    out = schedule_json(s, sc)
    del s.schedules[name]
    return out


def h_schedule_run(req, name, time_):
    s = S()
    sc = s.schedule(name)
    try:
        t0 = int(time_)
    except ValueError:
        raise ApiError(400, "time must be a UNIX time in seconds: '%s'" % time_)
    num = as_int("num", req.param("num"), 1, 1, 10)
    dk = req.param("domain_key") or None
    times = [t0]
    while len(times) < num:
        nxt = cron_next(sc["cron"], times[-1], sc["timezone"]) if sc["cron"] else None
        times.append(nxt if nxt is not None else times[-1] + 86400)
    out = []
    for i, t in enumerate(times):
        job = s.new_job(sc["type"], sc["database"], sc["query"], req.user,
                        priority=sc["priority"], retry_limit=sc["retry_limit"],
                        result=sc["result"], engine_version=sc["engine_version"],
                        pool_name=sc["pool_name"], scheduled_at=t, schedule_name=name,
                        domain_key=(dk if i == 0 else "%s-%d" % (dk, i)) if dk else None)
        out.append({"job_id": job.id, "scheduled_at": td_time(t), "type": job.type})
    return {"jobs": out}


def h_schedule_history(req, name):
    s = S()
    s.schedule(name)
    s.advance_all()
    now = s.now()
    jobs = sorted((j for j in s.jobs.values() if j.schedule_name == name), key=lambda j: -j.id)
    frm = as_int("from", req.param("from"), 0, 0)
    to = as_int("to", req.param("to"), 20, 0)
    return {"history": [j.to_json(now) for j in jobs[frm:to]],
            "count": len(jobs), "from": frm, "to": to}


# ---------------------------------------------------------------------------
# Saved results


def h_result_list(req):
    return {"results": list(S().results.values())}


def h_result_create(req, name):
    s = S()
    check_name("result", name)
    if name in s.results:
        raise ApiError(409, "Result '%s' already exists" % name)
    url = req.param("url")
    if not url:
        raise ApiError(400, "url is required")
    if "://" not in url:
        raise ApiError(422, "Invalid result URL: '%s'" % url)
    s.results[name] = {"name": name, "url": url, "organization": None}
    return {"name": name, "result": name}


def h_result_delete(req, name):
    s = S()
    if name not in s.results:
        raise ApiError(404, "Result '%s' does not exist" % name)
    del s.results[name]
    return {"name": name, "result": name}


# ---------------------------------------------------------------------------
# Users and API keys


def _user_json(u):
    return {k: v for k, v in u.items() if k != "password" and not k.startswith("_")}


def h_user_list(req):
    return {"users": [_user_json(u) for u in S().users.values()]}


def h_user_show(req):
    return _user_json(S().user(req.user))


def h_user_authenticate(req):
    s = S()
    who, pw = req.param("user"), req.param("password")
    for u in s.users.values():
        if who in (u["email"], u["name"]) and pw == u["password"]:
            key = next((k for k, v in req.app.keys.items() if v["user"] == u["name"]), None)
            if key is None:
                key = _new_key(req.app, s, u)
            return {"apikey": key, "name": u["name"]}
    raise ApiError(400, "Authentication failed: wrong user name or password")


def h_user_add(req, name):
    s = S()
    if name in s.users:
        raise ApiError(409, "User '%s' already exists" % name)
    email = req.param("email")
    if not email:
        raise ApiError(400, "email is required")
    now = iso_time(s.now())
    s.users[name] = {"id": s.next_user_id, "first_name": None, "last_name": None,
                     "email": email, "phone": None, "gravatar_url": "",
                     "administrator": False, "account_owner": False,
                     "created_at": now, "updated_at": now, "name": name,
                     "organization": req.param("organization"), "roles": [],
                     "password": req.param("password") or "", "_permission": "full"}
    s.next_user_id += 1
    return {"name": name}


def h_user_remove(req, name):
    s = S()
    u = s.user(name)
    if u["account_owner"]:
        raise ApiError(422, "The account owner cannot be removed")
    del s.users[name]
    for k in [k for k, v in req.app.keys.items() if v["user"] == name]:
        req.app.remove_key(k)
    return {"name": name}


def _new_key(app, s, u):
    s.key_counter += 1
    key = "%d/%s" % (ACCOUNT_ID, hashlib.sha1(("%s-%d" % (u["name"], s.key_counter))
                                              .encode()).hexdigest())
    app.add_key(key, u["name"], u.get("_permission", "full"))
    return key


def h_apikey_list(req, name):
    S().user(name)
    return {"apikeys": [k for k, v in req.app.keys.items() if v["user"] == name]}


def h_apikey_add(req, name):
    s = S()
    u = s.user(name)
    return {"apikey": _new_key(req.app, s, u)}


def h_apikey_remove(req, name):
    S().user(name)
    key = req.param("apikey")
    info = req.app.keys.get(key or "")
    if info is None or info["user"] != name:
        raise ApiError(404, "API key does not exist for user '%s'" % name)
    req.app.remove_key(key)
    return {"name": name}


# ---------------------------------------------------------------------------
# Bulk import


def h_bi_create(req, name, db, table):
    s = S()
    if name in s.bulk_imports:
        raise ApiError(409, "Bulk import session '%s' already exists" % name)
    check_name("bulk import", name)
    s.table(db, table)
    s.bulk_imports[name] = {"name": name, "database": db, "table": table,
                            "status": "uploading", "job_id": None, "upload_frozen": False,
                            "valid_records": None, "error_records": None,
                            "valid_parts": None, "error_parts": None, "parts": {},
                            "commit_polls": 0, "commit_started": None}
    return {"name": name, "bulk_import": name}


def h_bi_delete(req, name):
    s = S()
    s.bulk(name)
    del s.bulk_imports[name]
    return {"name": name, "bulk_import": name}


def h_bi_show(req, name):
    s = S()
    return s.bulk_json(s.bulk(name))


def h_bi_list(req):
    s = S()
    return {"bulk_imports": [s.bulk_json(b) for b in s.bulk_imports.values()]}


def h_bi_list_parts(req, name):
    b = S().bulk(name)
    return {"name": name, "bulk_import": name, "parts": list(b["parts"])}


def h_bi_upload_part(req, name, part):
    b = S().bulk(name)
    if b["upload_frozen"]:
        raise ApiError(422, "Bulk import session '%s' is frozen" % name)
    if b["status"] != "uploading":
        raise ApiError(422, "Bulk import session '%s' is %s" % (name, b["status"]))
    entry = {"size": len(req.body), "records": [], "errors": [], "broken": False}
    try:
        recs = decode_upload(req.body, "msgpack.gz")
    except ApiError:
        entry["broken"] = True
        recs = []
    for r in recs:
        if isinstance(r, dict) and isinstance(r.get("time"), int):
            entry["records"].append(r)
        else:
            entry["errors"].append(r)
    b["parts"][part] = entry
    return {"name": name, "bulk_import": name}


def h_bi_delete_part(req, name, part):
    b = S().bulk(name)
    if part not in b["parts"]:
        raise ApiError(404, "Part '%s' does not exist in bulk import session '%s'" % (part, name))
    del b["parts"][part]
    return {"name": name, "bulk_import": name}


def h_bi_freeze(req, name):
    S().bulk(name)["upload_frozen"] = True
    return {"name": name, "bulk_import": name}


def h_bi_unfreeze(req, name):
    S().bulk(name)["upload_frozen"] = False
    return {"name": name, "bulk_import": name}


def h_bi_perform(req, name):
    s = S()
    b = s.bulk(name)
    if b["status"] not in ("uploading", "ready"):
        raise ApiError(422, "Bulk import session '%s' is %s" % (name, b["status"]))
    b["status"] = "performing"
    job = s.new_job("bulk_import_perform", b["database"], None, req.user,
                    pool_name=req.param("pool_name") or None,
                    priority=as_int("priority", req.param("priority"), 0, -2, 2),
                    bulk_import=name)
    b["job_id"] = job.id
    if job.status in TERMINAL:  # a zero-length time-mode flow finishes at once
        s.bulk_performed(b, job.status)
    return {"name": name, "bulk_import": name, "job_id": str(job.id)}


def h_bi_commit(req, name):
    s = S()
    b = s.bulk(name)
    if b["status"] != "ready":
        raise ApiError(422, "Bulk import session '%s' is %s, not ready" % (name, b["status"]))
    b["status"] = "committing"
    b["commit_polls"] = 1
    b["commit_started"] = s.now()
    return {"name": name, "bulk_import": name}


def h_bi_error_records(req, name):
    b = S().bulk(name)
    packer = msgpack.Packer(use_bin_type=True)
    recs = [r for p in b["parts"].values() for r in p["errors"]] \
        if b["status"] in ("ready", "committing", "committed") else []
    return Response(200, gz(b"".join(packer.pack(r) for r in recs)), "application/octet-stream")


# ---------------------------------------------------------------------------
# Registration


def register(app):
    app.config_defaults.update({"mode": "polls", "queued_polls": 1, "running_polls": 2,
                                "queued_secs": 1.0, "running_secs": 2.0,
                                "result_gzip": True})
    app.on_reset(reset)
    app.on_state("v3", dump_state)

    def r(method, pattern, handler, **kw):
        app.route(method, "/v3" + pattern, handler, **kw)

    W = {"write": True}
    r("GET", "/system/server_status", h_server_status, auth=False)
    r("GET", "/account/show", h_account_show)

    r("GET", "/database/list", h_db_list)
    r("GET", "/database/show/<db>", h_db_show)
    r("POST", "/database/create/<db>", h_db_create, **W)
    r("POST", "/database/delete/<db>", h_db_delete, **W)

    r("GET", "/table/list/<db>", h_table_list)
    r("GET", "/table/show/<db>/<table>", h_table_show)
    r("POST", "/table/create/<db>/<table>", h_table_create, **W)
    r("POST", "/table/create/<db>/<table>/<type>", h_table_create, **W)
    r("POST", "/table/delete/<db>/<table>", h_table_delete, **W)
    r("POST", "/table/swap/<db>/<t1>/<t2>", h_table_swap, **W)
    r("POST", "/table/rename/<db>/<table>/<new>", h_table_rename, **W)
    r("POST", "/table/update/<db>/<table>", h_table_update, **W)
    r("POST", "/table/update-schema/<db>/<table>", h_table_update_schema, **W)
    r("POST", "/table/append-schema/<db>/<table>", h_table_append_schema, **W)
    r("GET", "/table/tail/<db>/<table>", h_table_tail)
    r("POST", "/table/tail/<db>/<table>", h_table_tail)
    r("GET", "/table/distribution/<db>/<table>", h_table_distribution)
    r("POST", "/table/change_database/<db>/<table>", h_table_change_database, **W)
    r("POST", "/table/transfer/<db>/<table>", h_table_transfer, **W)
    r("GET", "/table/deleted", h_table_deleted)
    r("POST", "/table/recover/<table_id>", h_table_recover, **W)
    r("PUT", "/table/import/<db>/<table>/<format>", h_import, **W)
    r("PUT", "/table/import_with_id/<db>/<table>/<unique_id>/<format>", h_import, **W)

    r("GET", "/job/list", h_job_list)
    r("GET", "/job/show/<job_id>", h_job_show)
    r("GET", "/job/status/<job_id>", h_job_status)
    r("GET", "/job/status_by_domain_key/<domain_key>", h_job_status_by_domain_key)
    r("GET", "/job/statistics/<job_id>", h_job_statistics)
    r("POST", "/job/issue/<type>/<db>", h_job_issue)
    r("POST", "/job/kill/<job_id>", h_job_kill)
    r("GET", "/job/result/<job_id>", h_job_result, locked=False)
    r("POST", "/job/result_export/<job_id>", h_job_result_export)
    r("POST", "/export/run/<db>/<table>", h_export_run)

    r("GET", "/schedule/list", h_schedule_list)
    r("POST", "/schedule/create/<name>", h_schedule_create, **W)
    r("POST", "/schedule/update/<name>", h_schedule_update, **W)
    r("POST", "/schedule/delete/<name>", h_schedule_delete, **W)
    r("POST", "/schedule/run/<name>/<time_>", h_schedule_run)
    r("GET", "/schedule/history/<name>", h_schedule_history)

    r("GET", "/result/list", h_result_list)
    r("POST", "/result/create/<name>", h_result_create, **W)
    r("POST", "/result/delete/<name>", h_result_delete, **W)

    r("GET", "/user/list", h_user_list)
    r("GET", "/user/show", h_user_show)
    r("POST", "/user/authenticate", h_user_authenticate, auth=False)
    r("POST", "/user/add/<name>", h_user_add, **W)
    r("POST", "/user/remove/<name>", h_user_remove, **W)
    r("GET", "/user/apikey/list/<name>", h_apikey_list)
    r("POST", "/user/apikey/add/<name>", h_apikey_add, **W)
    r("POST", "/user/apikey/remove/<name>", h_apikey_remove, **W)

    r("POST", "/bulk_import/create/<name>/<db>/<table>", h_bi_create, **W)
    r("POST", "/bulk_import/delete/<name>", h_bi_delete, **W)
    r("GET", "/bulk_import/show/<name>", h_bi_show)
    r("GET", "/bulk_import/list", h_bi_list)
    r("GET", "/bulk_import/list_parts/<name>", h_bi_list_parts)
    r("PUT", "/bulk_import/upload_part/<name>/<part>", h_bi_upload_part, **W)
    r("POST", "/bulk_import/delete_part/<name>/<part>", h_bi_delete_part, **W)
    r("POST", "/bulk_import/freeze/<name>", h_bi_freeze, **W)
    r("POST", "/bulk_import/unfreeze/<name>", h_bi_unfreeze, **W)
    r("POST", "/bulk_import/perform/<name>", h_bi_perform, **W)
    r("POST", "/bulk_import/commit/<name>", h_bi_commit, **W)
    r("GET", "/bulk_import/error_records/<name>", h_bi_error_records)
