"""The Trino (Presto) client protocol of the fake Treasure Data server.

TD serves interactive Presto/Trino queries on ``api-presto.<site>`` with the
Trino client protocol: ``POST /v1/statement`` with the SQL as the body, then
``GET nextUri`` page after page until a page has no ``nextUri``;
``DELETE nextUri`` cancels.  Authentication is HTTP basic with the API key
as the user name (and ``X-Trino-User`` = the key).  The fake serves the
protocol on its own port, beside ``/v3`` and ``/api``.

What a query does is decided by directives in its text (case-insensitive),
the same as for v3 jobs where they overlap (see README.md):

* ``fake_rows(N)``, ``fake_bigint``, GROUP BY over pageviews/www_access,
  ``SELECT <int>``: the rows a v3 job with that query has, with the same
  column types, so both paths can be compared row for row;
* ``fake_wide``: one row of every type family (bigint extremes, doubles
  with NaN/Infinity, decimal, dates, timestamps, varbinary, arrays, maps,
  rows, nested) and one row of nulls;
* ``page_rows(K)``: K rows per page (default: config ``trino_page_rows``, 100);
* ``fake_empty_pages(K)``: K pages without data after the first data page;
* ``fake_final_data``: the last rows come on the final page (no nextUri);
* ``fake_error`` (a USER_ERROR with an error location),
  ``fake_internal_error`` (an INTERNAL_ERROR), ``fake_killed``
  (USER_CANCELED), ``fake_stuck`` (RUNNING until cancelled; every page
  waits 50 ms as the real server's long poll does).

``GET /__fake/state`` has a ``trino`` part: the queries with their state,
SQL, headers and how many pages were served.  Faults (503 between pages,
delays, resets) go through the generic fault rules on the paths
``/v1/statement/queued/...`` and ``/v1/statement/executing/...``.
"""

import base64
import json
import re
import threading
import time

from server import Response
import v3

PAGE_ROWS = 100

STATE = {"queries": {}, "order": [], "seq": 0}

WIDE_COLUMNS = [
    ("big", "bigint"), ("small", "integer"), ("tiny", "tinyint"),
    ("dbl", "double"), ("nan", "double"), ("inf", "double"), ("ninf", "double"),
    ("r", "real"), ("dec", "decimal(10,2)"), ("s", "varchar"), ("c", "char(3)"),
    ("b", "boolean"), ("d", "date"), ("ts", "timestamp(3)"),
    ("tstz", "timestamp(3) with time zone"), ("bin", "varbinary"),
    ("arr", "array(bigint)"), ("m", "map(varchar, bigint)"),
    ("mk", "map(bigint, varchar)"),
    ("rw", 'row(a bigint, "b c" varchar, d array(double))'),
    ("nested", "array(row(k varchar, v map(varchar, array(bigint))))"),
    ("j", "json"), ("bigs", "array(bigint)"),
]
WIDE_ROWS = [
    [9223372036854775807, 2147483647, -128,
     2.5, "NaN", "Infinity", "-Infinity",
     1.5, "12345.67", "caf\u00e9 \u65e5\u672c", "ab ",
     True, "2026-11-22", "2026-11-22 10:00:00.123",
     "2026-11-22 10:00:00.123 UTC", base64.b64encode(b"\x00\x01\xfe\xff").decode(),
     [1, -9223372036854775808, None], {"a": 1, "b": None},
     {"1": "one", "-2": "minus two"},
     [7, "x", [0.5, 1.0]],
     [["k1", {"p": [1, 2]}], ["k2", {}]],
     '{"x":[1,2]}', [1234567890123456789, -1234567890123456789]],
    [None] * 23,
]


def _sig(t):
    base = re.match(r"\s*([a-z_ ]+?)\s*(\(|$)", t)
    return {"rawType": base.group(1) if base else t, "arguments": []}


def _columns(pairs):
    return [{"name": n, "type": t, "typeSignature": _sig(t)} for n, t in pairs]


def _plan(sql):
    """The query's columns, rows (a list), page size and failure, from its text."""
    q = sql.lower()
    plan = {"outcome": "success", "page_rows": None, "empty_pages": 0,
            "final_data": "fake_final_data" in q}
    if "fake_internal_error" in q:
        plan["outcome"] = "internal_error"
    elif "fake_error" in q:
        plan["outcome"] = "error"
    elif "fake_killed" in q:
        plan["outcome"] = "killed"
    elif "fake_stuck" in q:
        plan["outcome"] = "stuck"
    m = re.search(r"page_rows\(\s*(\d+)\s*\)", q)
    if m:
        plan["page_rows"] = max(1, int(m.group(1)))
    m = re.search(r"fake_empty_pages\(\s*(\d+)\s*\)", q)
    if m:
        plan["empty_pages"] = int(m.group(1))
    if "fake_wide" in q:
        plan["columns"] = _columns(WIDE_COLUMNS)
        plan["rows"] = WIDE_ROWS
        plan["count"] = len(WIDE_ROWS)
        return plan
    spec = v3.parse_directives(sql, "presto")
    plan["columns"] = _columns([(c[0], c[1]) for c in v3.result_schema(spec)])
    plan["count"] = v3.result_count(spec)
    if spec["kind"] == "bigint":
        rows = []
        for r in v3.BIGINT_ROWS:
            rows.append([base64.b64encode(v).decode() if isinstance(v, bytes) else
                         float(v) if isinstance(v, v3.F32) else v for v in r])
        plan["rows"] = rows
    else:
        plan["spec"] = spec  # rows are made page by page (fake_rows can be large)
    return plan


def _rows(plan, start, stop):
    if "rows" in plan:
        return plan["rows"][start:stop]
    spec = plan["spec"]
    if spec["kind"] == "rows":
        tags = (["t0"], ["t1"], ["t2"])
        notes = v3.NOTE_TEMPLATES
        return [[i, "name_%d" % i, i * 1.5, i % 2 == 0,
                 None if i % 7 == 0 else notes[i % 5] % i, tags[i % 3]]
                for i in range(start, min(stop, spec["n"]))]
    return list(v3.result_rows(spec))[start:stop]


def _basic_key(req):
    auth = req.header("Authorization") or ""
    m = re.match(r"^Basic\s+(\S+)$", auth.strip())
    if not m:
        return None
    try:
        raw = base64.b64decode(m.group(1), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, _ = raw.partition(":")
    return user


def _unauthorized(msg):
    return Response(401, msg.encode(), "text/plain; charset=utf-8",
                    headers=[("WWW-Authenticate", 'Basic realm="Trino"')])


def _check_auth(req):
    key = _basic_key(req)
    if key is None or key not in req.app.keys:
        return _unauthorized("Unauthorized: basic authentication with the API key as user expected")
    user = req.header("X-Trino-User") or req.header("X-Presto-User")
    if user != key:
        return _unauthorized("Unauthorized: X-Trino-User must be the API key")
    return None


def _base(req):
    return "http://" + (req.header("Host") or "127.0.0.1")


def _error_page(q, kind):
    if kind == "error":
        err = {"message": "line 1:8: Column 'nope' cannot be resolved",
               "errorCode": 47, "errorName": "COLUMN_NOT_FOUND",
               "errorType": "USER_ERROR",
               "errorLocation": {"lineNumber": 1, "columnNumber": 8},
               "failureInfo": {"type": "io.trino.spi.TrinoException",
                               "message": "line 1:8: Column 'nope' cannot be resolved",
                               "stack": ["at io.trino.sql.analyzer..."]}}
    elif kind == "killed":
        err = {"message": "Query was canceled", "errorCode": 3,
               "errorName": "USER_CANCELED", "errorType": "USER_ERROR"}
    else:
        err = {"message": "Worker 10.0.0.1 is unresponsive", "errorCode": 65536,
               "errorName": "GENERIC_INTERNAL_ERROR", "errorType": "INTERNAL_ERROR"}
    return err


def _stats(q, state):
    total = q["pages_total"]
    done = min(q["served"], total)
    return {"state": state, "queued": state == "QUEUED", "scheduled": state != "QUEUED",
            "nodes": 1, "totalSplits": total, "queuedSplits": 0,
            "runningSplits": 0 if state in ("FINISHED", "FAILED") else max(0, total - done),
            "completedSplits": done, "cpuTimeMillis": 5 * done, "wallTimeMillis": 7 * done,
            "queuedTimeMillis": 1, "elapsedTimeMillis": int((time.time() - q["created"]) * 1000),
            "processedRows": q["rows_sent"], "processedBytes": 100 * q["rows_sent"],
            "physicalInputBytes": 0, "peakMemoryBytes": 1024, "spilledBytes": 0}


def _page(req, q, token):
    """The answer for page `token` (1-based) of query q (under the lock)."""
    plan = q["plan"]
    q["served"] = max(q["served"], token)
    out = {"id": q["id"], "infoUri": _base(req) + "/ui/query.html?" + q["id"]}

    def more(state):
        out["nextUri"] = "%s/v1/statement/executing/%s/y%s/%d" % (_base(req), q["id"], q["slug"], token + 1)
        out["stats"] = _stats(q, state)
        q["state"] = state
        return out

    if q["state"] == "CANCELED":
        return None
    outcome = plan["outcome"]
    if outcome == "stuck":
        return more("RUNNING")
    if outcome in ("error", "internal_error", "killed"):
        if token == 1:
            return more("RUNNING")
        q["state"] = "FAILED"
        out["stats"] = _stats(q, "FAILED")
        out["error"] = _error_page(q, outcome)
        return out
    # success: page 1 announces the columns; then data pages (with
    # `empty_pages` empty ones after the first); then a FINISHED page
    out["columns"] = plan["columns"]
    if token == 1:
        return more("RUNNING")
    per = plan["page_rows"] or req.app.config.get("trino_page_rows", PAGE_ROWS)
    n = plan["count"]
    data_pages = (n + per - 1) // per
    k = token - 2                      # 0-based index among the pages after the first
    if data_pages >= 1 and k >= 1:
        k = k - plan["empty_pages"] if k > plan["empty_pages"] else -1
    if k == -1:
        return more("RUNNING")        # an empty page
    if k < data_pages:
        rows = _rows(plan, k * per, (k + 1) * per)
        out["data"] = rows
        q["rows_sent"] = max(q["rows_sent"], min(n, (k + 1) * per))
        if k == data_pages - 1 and plan["final_data"]:
            q["state"] = "FINISHED"       # the last rows come with the final page
            out["stats"] = _stats(q, "FINISHED")
            return out
        return more("RUNNING")
    q["state"] = "FINISHED"
    out["stats"] = _stats(q, "FINISHED")
    if plan.get("update_type"):
        out["updateType"] = plan["update_type"]
    return out


def post_statement(req):
    bad = _check_auth(req)
    if bad:
        return bad
    sql = req.body.decode("utf-8", "replace")
    if not sql.strip():
        return Response.json({"message": "SQL statement is empty"}, status=400)
    app = req.app
    with app.lock:
        STATE["seq"] += 1
        n = STATE["seq"]
        qid = "20261122_100000_%05d_fake%d" % (n, n)
        headers = {}
        for k, v in req.headers.items():
            lk = k.lower()
            if lk.startswith(("x-trino-", "x-presto-")) and lk not in ("x-trino-user", "x-presto-user"):
                headers[lk] = v
        plan = _plan(sql)
        per = plan["page_rows"] or app.config.get("trino_page_rows", PAGE_ROWS)
        q = {"id": qid, "slug": "%04x" % (n * 7919 % 65536), "sql": sql, "state": "QUEUED",
             "headers": headers, "plan": plan, "served": 0, "rows_sent": 0,
             "created": time.time(), "deleted": 0,
             "pages_total": 2 + plan["empty_pages"] + (plan.get("count", 0) + per - 1) // per}
        STATE["queries"][qid] = q
        STATE["order"].append(qid)
        out = {"id": qid, "infoUri": _base(req) + "/ui/query.html?" + qid,
               "nextUri": "%s/v1/statement/queued/%s/y%s/1" % (_base(req), qid, q["slug"]),
               "stats": _stats(q, "QUEUED")}
    return Response.json(out)


def get_page(req, kind, qid, slug, token):
    bad = _check_auth(req)
    if bad:
        return bad
    try:
        token = int(token)
    except ValueError:
        return Response.json({"message": "bad token"}, status=404)
    app = req.app
    with app.lock:
        q = STATE["queries"].get(qid)
        if q is None or slug != "y" + q["slug"]:
            return Response.json({"message": "Query not found: " + qid}, status=404)
        if token < q["served"] or token > q["served"] + 1:
            return Response.json({"message": "Token %d is not valid (last %d)" % (token, q["served"])},
                                 status=410)
        stuck = q["plan"]["outcome"] == "stuck"
    if stuck:
        time.sleep(0.05)
    with app.lock:
        out = _page(req, q, token)
    if out is None:
        return Response.json({"message": "Query was canceled: " + qid}, status=410)
    return Response(200, json.dumps(out, ensure_ascii=False).encode("utf-8"),
                    "application/json")


def delete_page(req, kind, qid, slug, token):
    bad = _check_auth(req)
    if bad:
        return bad
    with req.app.lock:
        q = STATE["queries"].get(qid)
        if q is None:
            return Response.json({"message": "Query not found: " + qid}, status=404)
        q["deleted"] += 1
        if q["state"] not in ("FINISHED", "FAILED"):
            q["state"] = "CANCELED"
    return Response(204)


def reset(app):
    STATE["queries"] = {}
    STATE["order"] = []
    STATE["seq"] = 0


def dump_state(app):
    qs = []
    for qid in STATE["order"]:
        q = STATE["queries"][qid]
        qs.append({"id": qid, "sql": q["sql"], "state": q["state"], "headers": q["headers"],
                   "pages": q["served"], "rows_sent": q["rows_sent"], "deleted": q["deleted"]})
    return {"queries": qs}


def register(app):
    app.route("POST", "/v1/statement", post_statement, auth=False, locked=False)
    for method, fn in (("GET", get_page), ("DELETE", delete_page)):
        app.route(method, "/v1/statement/<kind>/<qid>/<slug>/<token>", fn,
                  auth=False, locked=False)
    app.on_reset(reset)
    app.on_state("trino", dump_state)
    app.config_defaults.update({"trino_page_rows": PAGE_ROWS})
