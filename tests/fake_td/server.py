#!/usr/bin/python3
"""fake-td: a stand-alone imitation of the Treasure Data REST API for tests.

Run it with ``scripts/fake-td [--host H] [--port P] [--port-file F]
[--parent-pid PID] [--quiet]``.  See README.md in this directory for the
seeded data, query directives and the test-only control API.

This file holds everything that is not specific to one API family:

* the HTTP/1.1 server (threaded, keep-alive, always a Content-Length),
* ``TD1 <key>`` authentication and the "query_only" key role,
* the route table and dispatch,
* the test-only control API under ``/__fake/``,
* fault injection and the request log.

Plugging in an API module
-------------------------
An API module is a Python file in this directory listed in ``MODULES``
below.  It must define ``register(app)``, which is called once at start-up
and typically does::

    def register(app):
        app.route("GET", "/api/projects", list_projects)            # auth on
        app.route("PUT", "/api/projects", put_project, write=True)
        app.route("GET", "/api/projects/<id>", show_project)
        app.on_reset(reset)          # called (under app.lock) on start-up
                                     # and by POST /__fake/reset
        app.on_state("workflow", dump_state)   # optional, GET /__fake/state
        app.config_defaults.update({"my_setting": 1})   # optional

Route patterns are matched against the whole request path; ``<name>``
captures one path segment (percent-decoded before it is passed on) and
``<name:path>`` captures the rest of the path.  Options:

* ``auth=True``    require a valid ``Authorization: TD1 <key>`` header
* ``write=True``   refuse (403) keys whose permission is "query_only"
* ``locked=True``  run the handler while holding ``app.lock`` (a re-entrant
                   lock that guards all fake state); pass ``False`` to
                   manage locking yourself (e.g. for slow rendering).

A handler is called as ``handler(req, **captures)`` and returns a dict or
list (sent as JSON with status 200) or a ``Response``; it raises
``ApiError(status, message)`` for TD-style error bodies.  ``req`` is a
``Request`` (see below): ``req.params`` merges the query string with a
form-encoded or JSON-object body; ``req.user`` is the key's user name.
"""

import argparse
import email.utils
import hashlib
import importlib
import importlib.util
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
# API modules do "from server import ApiError, ...": make that name refer to
# this very module even when it runs as __main__ (one set of classes).
if __name__ == "__main__":
    sys.modules.setdefault("server", sys.modules[__name__])

# API modules loaded at start-up, in this order (missing files are skipped).
MODULES = ("v3", "access", "workflow", "trino")

DEFAULT_KEY = "1/0123456789abcdef0123456789abcdef01234567"
QUERY_ONLY_KEY = "2/fedcba9876543210fedcba9876543210fedcba98"

# the key the test suite uses: every 8-character piece of it is distinctive,
# so tests/test_zz_secrets.lua can find any piece that leaks into an output
SUITE_KEY = "1/d41f3b9e07c2a85f6e1b94c3a7d20f58e69b1c47"

# key -> {"user": <user name>, "permission": "full" | "query_only"}
DEFAULT_KEYS = {
    DEFAULT_KEY: {"user": "owner", "permission": "full"},
    SUITE_KEY: {"user": "owner", "permission": "full"},
    QUERY_ONLY_KEY: {"user": "analyst", "permission": "query_only"},
}

# Short "error" strings used in TD-style error bodies, by status code.
ERROR_NAMES = {
    400: "Bad Request",
    401: "Authentication failed",
    403: "Forbidden",
    404: "Resource not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Already exists",
    411: "Length required",
    413: "Request entity too large",
    415: "Unsupported media type",
    416: "Requested range not satisfiable",
    422: "Unprocessable entity",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    416: "Range Not Satisfiable", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

FAULT_ACTIONS = ("respond", "reset", "close", "truncate", "slow", "html",
                 "badjson", "pass", "stall", "shape", "echo", "echo_key")

# "shape" faults: the JSON sent instead of (or made from) the real answer
SHAPES = ("null", "number", "string", "array", "object", "missing", "wrongtype")


# ---------------------------------------------------------------------------
# Errors and responses


def error_body(status, message=None, error=None, details=None):
    """A TD-style error object: error, message, text, severity, status_code."""
    short = error or ERROR_NAMES.get(status, "Error")
    msg = message if message is not None else short
    body = {"error": short, "message": msg, "text": msg,
            "severity": "error", "status_code": status}
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    """Raised by handlers; rendered as a TD-style JSON error body."""

    def __init__(self, status, message=None, error=None, details=None,
                 headers=None):
        super().__init__(message or "")
        self.status = status
        self.message = message
        self.error = error
        self.details = details
        self.headers = headers or {}

    def response(self):
        resp = Response.json(error_body(self.status, self.message, self.error,
                                        self.details), status=self.status)
        for k, v in self.headers.items():
            resp.headers.append((k, v))
        return resp


class Response:
    """Status, header list and body bytes of one HTTP response."""

    def __init__(self, status=200, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else str(body).encode()
        self.headers = list(headers or [])
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))

    @classmethod
    def json(cls, obj, status=200, headers=None):
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return cls(status, data, "application/json; charset=utf-8", headers)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def serve_bytes(req, data, content_type, headers=None):
    """Serve a fixed byte string with ETag, Accept-Ranges and Range support.

    ``Range: bytes=N-``, ``bytes=N-M`` and ``bytes=-S`` give 206 with
    Content-Range; an ``If-Range`` that differs from the ETag (strong
    comparison) gives the full 200; an unsatisfiable range gives 416.
    A malformed or multi-range header is ignored (full 200).
    """
    etag = '"%s"' % hashlib.md5(data).hexdigest()
    base = [("Content-Type", content_type), ("ETag", etag),
            ("Accept-Ranges", "bytes")] + list(headers or [])
    total = len(data)
    rng = req.header("Range")
    if rng is not None:
        if_range = req.header("If-Range")
        if if_range is not None and if_range.strip() != etag:
            rng = None
    m = re.match(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", rng or "")
    if m and (m.group(1) or m.group(2)):
        first, last = m.group(1), m.group(2)
        if first:
            start = int(first)
            end = int(last) if last else total - 1
            valid = not last or end >= start
        else:
            n = int(last)
            start, end, valid = max(0, total - n), total - 1, True
            if n == 0:
                start = total
        if valid:
            if start >= total:
                resp = ApiError(416, "Requested range %s is not satisfiable (size %d)"
                                % (rng.strip(), total)).response()
                resp.headers += [("Content-Range", "bytes */%d" % total),
                                 ("ETag", etag), ("Accept-Ranges", "bytes")]
                return resp
            end = min(end, total - 1)
            return Response(206, data[start:end + 1], headers=base + [
                ("Content-Range", "bytes %d-%d/%d" % (start, end, total))])
    return Response(200, data, headers=base)


# ---------------------------------------------------------------------------
# Requests


def _flatten_qs(pairs):
    """[(k, v), ...] -> {k: v} or {k: [v1, v2]} when a key repeats."""
    out = {}
    for k, v in pairs:
        if k in out:
            if isinstance(out[k], list):
                out[k].append(v)
            else:
                out[k] = [out[k], v]
        else:
            out[k] = v
    return out


class Request:
    """One parsed HTTP request as handed to route handlers."""

    def __init__(self, app, method, target, headers, body):
        self.app = app
        self.method = method
        if target.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        self.target = target
        path, _, qs = target.partition("?")
        self.path = path or "/"                  # raw (still %-encoded)
        self.query_string = qs
        self.query = _flatten_qs(urllib.parse.parse_qsl(qs, keep_blank_values=True))
        self.headers = headers                   # email.message.Message
        self.body = body
        self.content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.form = None
        self.json = None
        self.body_error = None
        if body and self.content_type == "application/x-www-form-urlencoded":
            try:
                self.form = _flatten_qs(urllib.parse.parse_qsl(
                    body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                pass  # binary body sent with the wrong type: keep it raw
        elif body and (self.content_type == "application/json"
                       or self.content_type.endswith("+json")):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.body_error = "malformed JSON body: %s" % e
        # query string first, then the body (form or JSON object) overrides;
        # a repeated form/query key yields its last value.
        self.params = {}
        for src in (self.query, self.form):
            for k, v in (src or {}).items():
                self.params[k] = v[-1] if isinstance(v, list) else v
        if isinstance(self.json, dict):
            self.params.update(self.json)
        self.key = None
        self.user = None
        self.permission = None
        self.route = None

    def header(self, name, default=None):
        v = self.headers.get(name)
        return default if v is None else v

    def param(self, name, default=None):
        return self.params.get(name, default)

    def accepts_gzip(self):
        ae = (self.header("Accept-Encoding") or "").lower()
        for part in ae.split(","):
            tok = part.split(";")[0].strip()
            if tok in ("gzip", "x-gzip", "*"):
                q = part.split("q=")[1] if "q=" in part else "1"
                try:
                    if float(q) > 0:
                        return True
                except ValueError:
                    return True
        return False

    def log_entry(self):
        hdrs = {}
        for k, v in self.headers.items():
            lk = k.lower()
            hdrs[lk] = hdrs[lk] + ", " + v if lk in hdrs else v
        entry = {"method": self.method, "path": self.path,
                 "query": self.query, "headers": hdrs,
                 "body_size": len(self.body)}
        if self.form is not None:
            entry["form"] = self.form
        if self.json is not None:
            entry["json"] = self.json
        return entry


# ---------------------------------------------------------------------------
# The application: routes, auth, config, faults, log


class Route:
    def __init__(self, method, pattern, handler, auth, write, locked, control):
        self.method = method.upper()
        self.pattern = pattern
        self.regex = re.compile("^" + self._to_regex(pattern) + "$")
        self.handler = handler
        self.auth = auth
        self.write = write
        self.locked = locked
        self.control = control

    @staticmethod
    def _to_regex(pattern):
        out = []
        pos = 0
        for m in re.finditer(r"<(\w+)(?::(path))?>", pattern):
            out.append(re.escape(pattern[pos:m.start()]))
            if m.group(2):
                out.append("(?P<%s>.+)" % m.group(1))
            else:
                out.append("(?P<%s>[^/]+)" % m.group(1))
            pos = m.end()
        out.append(re.escape(pattern[pos:]))
        return "".join(out)


class App:
    def __init__(self):
        self.lock = threading.RLock()
        self.routes = []
        self.reset_hooks = []
        self.state_hooks = {}
        self.config_defaults = {}
        self.config = {}
        self.keys = {}
        self.faults = []
        self.log = []
        self.started = time.time()
        self.contract = None      # contract.Checker, set up by load_modules
        self.violations = []      # contract violations, kept until read
        self.checked = 0          # requests checked against the contract

    # -- registration -----------------------------------------------------
    def route(self, method, pattern, handler, auth=True, write=False,
              locked=True, control=False):
        self.routes.append(Route(method, pattern, handler, auth, write,
                                 locked, control))

    def on_reset(self, fn):
        self.reset_hooks.append(fn)

    def on_state(self, name, fn):
        self.state_hooks[name] = fn

    # -- state --------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.config = json.loads(json.dumps(self.config_defaults))
            self.keys = {k: dict(v) for k, v in DEFAULT_KEYS.items()}
            self.faults = []
            self.log = []
            for fn in self.reset_hooks:
                fn(self)

    def add_key(self, key, user="owner", permission="full"):
        with self.lock:
            self.keys[key] = {"user": user, "permission": permission}

    def remove_key(self, key):
        with self.lock:
            self.keys.pop(key, None)

    # -- routing ------------------------------------------------------------
    def match(self, method, path):
        allowed = []
        for r in self.routes:
            m = r.regex.match(path)
            if not m:
                continue
            if r.method == method or (method == "HEAD" and r.method == "GET"):
                caps = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
                return r, caps, allowed
            allowed.append(r.method)
        return None, None, allowed

    def authenticate(self, req):
        auth = req.header("Authorization")
        if auth is None:
            raise ApiError(401, "Authentication required: no Authorization header")
        m = re.match(r"^TD1 (\S+)$", auth.strip())
        if not m:
            raise ApiError(401, "Authentication failed: Authorization header must be 'TD1 <apikey>'")
        info = self.keys.get(m.group(1))
        if info is None:
            raise ApiError(401, "Authentication failed: invalid API key")
        req.key = m.group(1)
        req.user = info["user"]
        req.permission = info["permission"]

    def dispatch(self, req):
        """Route, authenticate and run a handler; always returns a Response."""
        try:
            route, caps, allowed = self.match(req.method, req.path)
            if route is None:
                if allowed:
                    raise ApiError(405, "Method %s is not allowed for %s"
                                   % (req.method, req.path),
                                   headers={"Allow": ", ".join(sorted(set(allowed)))})
                raise ApiError(404, "Unknown API endpoint: %s %s" % (req.method, req.path))
            req.route = route
            if route.auth:
                with self.lock:
                    self.authenticate(req)
                if route.write and req.permission == "query_only":
                    raise ApiError(403, "Access denied: the API key has query_only "
                                   "permission and cannot perform %s %s"
                                   % (req.method, req.path))
            if req.body_error:
                raise ApiError(400, req.body_error)
            if route.locked:
                with self.lock:
                    out = route.handler(req, **caps)
            else:
                out = route.handler(req, **caps)
            if isinstance(out, Response):
                return out
            if out is None:
                out = {}
            return Response.json(out)
        except ApiError as e:
            return e.response()
        except Exception as e:  # a handler bug must not kill the server
            traceback.print_exc(file=sys.stderr)
            return ApiError(500, "internal error in fake server: %s: %s"
                            % (type(e).__name__, e)).response()

    # -- faults ---------------------------------------------------------------
    def take_fault(self, method, path, reused=False):
        with self.lock:
            for rule in self.faults:
                if rule["times"] == 0:
                    continue
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                if not rule["_re"].search(path):
                    continue
                conn = rule.get("conn")
                if conn == "reused" and not reused or conn == "fresh" and reused:
                    continue
                if rule["skip"] > 0:
                    rule["skip"] -= 1
                    continue
                if rule["times"] > 0:
                    rule["times"] -= 1
                    rule["hits"] += 1
                else:
                    rule["hits"] += 1
                return dict(rule)
        return None

    def add_faults(self, spec):
        rules = spec if isinstance(spec, list) else [spec]
        parsed = []
        for r in rules:
            if not isinstance(r, dict):
                raise ApiError(400, "a fault rule must be a JSON object")
            rule = dict(r)
            try:
                rule["_re"] = re.compile(rule.get("path", ""))
            except (re.error, TypeError) as e:
                raise ApiError(400, "bad fault path regex: %s" % e)
            rule.setdefault("path", "")
            rule["times"] = int(rule.get("times", 1))
            action = rule.get("action")
            if action is None:
                action = "respond" if "status" in rule else "pass"
            if action not in FAULT_ACTIONS:
                raise ApiError(400, "unknown fault action %r (one of %s)"
                               % (action, ", ".join(FAULT_ACTIONS)))
            rule["action"] = action
            if action == "respond":
                rule.setdefault("status", 500)
            rule["skip"] = int(rule.get("skip", 0))
            if rule.get("conn") not in (None, "reused", "fresh"):
                raise ApiError(400, "fault conn must be 'reused' or 'fresh'")
            if action == "shape" and rule.get("shape", "null") not in SHAPES:
                raise ApiError(400, "unknown fault shape %r (one of %s)"
                               % (rule.get("shape"), ", ".join(SHAPES)))
            rule["hits"] = 0
            parsed.append(rule)
        with self.lock:
            self.faults.extend(parsed)

    def fault_list(self):
        with self.lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")}
                    for r in self.faults]


APP = App()


# ---------------------------------------------------------------------------
# Control API (/__fake/...), registered like any module but unauthenticated


def _ctl_json(req):
    if req.json is None and req.body:
        raise ApiError(400, "control API expects a JSON body")
    return req.json if req.json is not None else {}


def ctl_reset(req):
    req.app.reset()
    return {"ok": True}


CONFIG_KEYS = {
    "mode": str, "queued_polls": int, "running_polls": int,
    "queued_secs": float, "running_secs": float, "result_gzip": bool,
}


def ctl_config(req):
    body = _ctl_json(req)
    if not isinstance(body, dict):
        raise ApiError(400, "config body must be a JSON object")
    app = req.app
    with app.lock:
        for k, v in body.items():
            if k == "add_key":
                keys = v if isinstance(v, list) else [v]
                for key in keys:
                    app.add_key(str(key), body.get("user", "owner"),
                                body.get("permission", "full"))
            elif k == "add_query_only_key":
                app.add_key(str(v), body.get("user", "analyst"), "query_only")
            elif k == "remove_key":
                app.remove_key(str(v))
            elif k in ("user", "permission"):
                continue
            elif k in app.config_defaults or k in CONFIG_KEYS:
                conv = CONFIG_KEYS.get(k)
                try:
                    app.config[k] = v if conv is None else conv(v)
                except (TypeError, ValueError):
                    raise ApiError(400, "bad value for %s: %r" % (k, v))
            else:
                raise ApiError(400, "unknown config key %r" % k)
        if "mode" in body and app.config["mode"] not in ("polls", "time"):
            raise ApiError(400, "mode must be 'polls' or 'time'")
        if "mode" not in body and ("queued_secs" in body or "running_secs" in body):
            app.config["mode"] = "time"
        if "mode" not in body and ("queued_polls" in body or "running_polls" in body):
            app.config["mode"] = "polls"
        return {"config": app.config, "keys": len(app.keys)}


def ctl_get_config(req):
    with req.app.lock:
        return {"config": req.app.config}


def ctl_add_faults(req):
    body = _ctl_json(req)
    req.app.add_faults(body)
    return {"faults": req.app.fault_list()}


def ctl_list_faults(req):
    return {"faults": req.app.fault_list()}


def ctl_clear_faults(req):
    with req.app.lock:
        req.app.faults = []
    return {"faults": []}


def ctl_log(req):
    with req.app.lock:
        return Response.json(list(req.app.log))


def ctl_clear_log(req):
    with req.app.lock:
        req.app.log = []
    return {"ok": True}


def ctl_state(req):
    app = req.app
    with app.lock:
        out = {"config": app.config, "faults": len(app.faults),
               "log_entries": len(app.log), "keys": sorted(app.keys)}
        for name, fn in app.state_hooks.items():
            out[name] = fn(app)
        return out


def ctl_contract(req):
    """The contract violations seen so far; ?clear=1 also forgets them."""
    with req.app.lock:
        out = list(req.app.violations)
        if req.query.get("clear"):
            req.app.violations = []
    return {"violations": out, "checking": req.app.contract is not None,
            "checked": req.app.checked}


def hook_post(req, name):
    """A chat webhook (Slack-style): logged like any request, answers "ok"."""
    return Response(200, b"ok", "text/plain; charset=utf-8")


def register_control(app):
    r = lambda m, p, h: app.route(m, p, h, auth=False, locked=False, control=True)
    r("POST", "/__fake/reset", ctl_reset)
    r("POST", "/__fake/config", ctl_config)
    r("GET", "/__fake/config", ctl_get_config)
    r("POST", "/__fake/faults", ctl_add_faults)
    r("GET", "/__fake/faults", ctl_list_faults)
    r("DELETE", "/__fake/faults", ctl_clear_faults)
    r("GET", "/__fake/log", ctl_log)
    r("DELETE", "/__fake/log", ctl_clear_log)
    r("GET", "/__fake/state", ctl_state)
    r("GET", "/__fake/contract", ctl_contract)
    # a local webhook for alerts (td.notify); logged, and faults apply
    app.route("POST", "/hooks/<name>", hook_post, auth=False)


# ---------------------------------------------------------------------------
# HTTP plumbing

HTML_PAGE = ("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
             "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
             "</body>\r\n</html>\r\n")


class Handler(BaseHTTPRequestHandler):
    def date_time_string(self, timestamp=None):
        # the Date header tells the fake's clock, as TD's tells its own, so
        # the times in answers (createdAt, ...) and Date agree
        clock = sys.modules.get("v3")
        if timestamp is None and clock is not None and getattr(clock, "STATE", None) is not None:
            timestamp = clock.STATE.now()
        return email.utils.formatdate(timestamp, usegmt=True)

    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY each
    # small response waits for the client's delayed ACK (about 40 ms)
    disable_nagle_algorithm = True
    server_version = "fake-td/1.0"
    sys_version = ""
    timeout = 300
    app = APP

    def log_message(self, fmt, *args):  # keep stdout/stderr quiet
        pass

    def version_string(self):
        return self.server_version

    def send_error(self, code, message=None, explain=None):
        """Protocol-level errors (bad request line, ...) as TD-style JSON."""
        self.close_connection = True
        try:
            self._send(Response.json(error_body(code, message or explain), status=code))
        except OSError:
            pass

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # -- reading --------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self._read_exact(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        n = int(cl)
        if n < 0:
            raise ValueError("negative Content-Length")
        return self._read_exact(n)

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            part = self.rfile.read(n - len(buf))
            if not part:
                raise ConnectionError("eof in request body")
            buf += part
        return bytes(buf)

    # -- writing --------------------------------------------------------------
    def _write_head(self, resp, content_length=None, chunked=False):
        reason = REASONS.get(resp.status)
        self.send_response(resp.status, reason)
        names = set()
        for k, v in resp.headers:
            names.add(k.lower())
            self.send_header(k, v)
        if "content-type" not in names and resp.body:
            self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            n = len(resp.body) if content_length is None else content_length
            self.send_header("Content-Length", str(n))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, resp):
        self._write_head(resp)
        if self.command != "HEAD" and resp.status not in (204, 304):
            self.wfile.write(resp.body)

    def _abort_reset(self):
        """Close the socket so that the peer sees a TCP RST, no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    # -- main ---------------------------------------------------------------
    def _serve(self):
        app = self.app
        # requests served on this connection so far: > 1 means the client
        # reused a kept-alive connection (fault rules with "conn")
        self._conn_seq = getattr(self, "_conn_seq", 0) + 1
        try:
            body = self._read_body()
        except (ValueError, ConnectionError, OSError) as e:
            self.close_connection = True
            try:
                self._send(ApiError(400, "cannot read request body: %s" % e).response())
            except OSError:
                pass
            return
        req = Request(app, self.command, self.path, self.headers, body)
        route, _, _ = app.match(req.method, req.path)
        control = route is not None and route.control
        entry = None
        fault = None
        if not control:
            entry = req.log_entry()
            entry["conn_seq"] = self._conn_seq
            entry["conn_port"] = self.client_address[1]
            with app.lock:
                app.log.append(entry)
            if app.contract is not None:
                app.checked += 1
                msgs = app.contract.check(req)
                if msgs:
                    entry["contract"] = msgs
                    with app.lock:
                        app.violations.append({"method": req.method, "path": req.path,
                                               "violations": msgs})
            fault = app.take_fault(req.method, req.path, self._conn_seq > 1)
        try:
            self._respond(req, fault, entry)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _note(self, entry, **kv):
        """Add the outcome (status, fault action) to a request log entry."""
        if entry is not None:
            with self.app.lock:
                entry.update(kv)

    # actions that send (a damaged form of) the real answer
    REAL = ("pass", "truncate", "slow", "stall", "shape")

    def _respond(self, req, fault, entry):
        app = self.app
        if fault is None:
            resp = app.dispatch(req)
            self._note(entry, status=resp.status)
            self._send(resp)
            return
        action = fault["action"]
        act = bool(fault.get("act"))
        self._note(entry, fault=action, acted=act or action in self.REAL
                   and not (action == "stall" and fault.get("bytes") is None))
        delay = float(fault.get("delay") or 0)
        real = None
        if act:  # the server carries the request out, then the reply fails
            real = app.dispatch(req)
            self._note(entry, acted_status=real.status)
        if delay > 0:
            time.sleep(delay)
        if action == "stall" and fault.get("bytes") is None:
            self._stall(float(fault.get("seconds", 60)))  # swallowed, or acted
            return
        if action in self.REAL and real is None:
            real = app.dispatch(req)
        if action == "reset":
            self._abort_reset()
            return
        if action == "close":
            self.close_connection = True
            self.wfile.flush()
            return
        if action in ("pass", "truncate", "slow", "stall"):
            resp = real
        elif action == "html":
            code = int(fault.get("status", 502))
            page = fault.get("body") or HTML_PAGE.format(code=code, reason=REASONS.get(code, "Error"))
            resp = Response(code, page.encode("utf-8"), "text/html")
        elif action == "badjson":
            code = int(fault.get("status", 200))
            raw = fault.get("body") or '{"job_id": "12345", "status": "succ'
            resp = Response(code, raw.encode("utf-8"), "application/json; charset=utf-8")
        elif action == "shape":
            resp = self._shape(real, fault)
        elif action == "echo":
            resp = self._echo(req, fault)
        elif action == "echo_key":
            resp = self._echo_key(req, fault)
        else:  # respond
            code = int(fault.get("status", 500))
            b = fault.get("body")
            if fault.get("body_file"):  # binary bodies: the bytes of a local file
                with open(fault["body_file"], "rb") as f:
                    resp = Response(code, f.read(), fault.get("content_type") or "application/octet-stream")
            elif b is None:
                resp = Response.json(error_body(code), status=code) if code >= 400 \
                    else Response.json({}, status=code)
            elif isinstance(b, (dict, list)):
                resp = Response.json(b, status=code)
            else:
                try:
                    json.loads(b)
                    ctype = "application/json; charset=utf-8"
                except ValueError:
                    ctype = "text/plain; charset=utf-8"
                resp = Response(code, b.encode("utf-8"), ctype)
        if fault.get("corrupt") is not None and resp.body:
            body = bytearray(resp.body)
            spots = fault["corrupt"]
            for off in (spots if isinstance(spots, list) else [spots]):
                off = len(body) // 2 if off == "middle" else int(off)
                if off < 0:
                    off += len(body)
                if 0 <= off < len(body):
                    body[off] ^= 0xFF
            resp.body = bytes(body)
        drop = {h.lower() for h in (fault.get("drop_headers") or [])}
        if drop:
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() not in drop]
        for k, v in (fault.get("headers") or {}).items():
            resp.headers = [(hk, hv) for hk, hv in resp.headers if hk.lower() != k.lower()]
            resp.headers.append((k, str(v)))
        if fault.get("close"):
            self.close_connection = True
        self._note(entry, status=resp.status)
        self._emit(resp, action, fault)

    def _emit(self, resp, action, fault):
        """Send resp, whole or damaged as the action says (chunked if asked)."""
        chunked = fault.get("chunked")
        csize = 0
        if chunked:
            csize = 4096 if chunked is True else max(1, int(chunked))
        has_body = self.command != "HEAD" and resp.status not in (204, 304)
        body = resp.body if has_body else b""
        limit = len(body)
        if action in ("truncate", "stall"):
            n = fault.get("bytes")
            limit = len(body) // 2 if n is None else max(0, min(int(n), len(body)))
            self.close_connection = True
        piece = len(body) or 1
        interval = 0.0
        if action == "slow":
            piece = max(1, int(fault.get("chunk", 256)))
            interval = float(fault.get("interval", 0.05))
        if csize:
            piece = min(piece, csize)
        self._write_head(resp, chunked=bool(csize))
        self.wfile.flush()
        for i in range(0, limit, piece):
            part = body[i:min(i + piece, limit)]
            if csize:
                part = b"%x\r\n%s\r\n" % (len(part), part)
            self.wfile.write(part)
            self.wfile.flush()
            if interval and i + piece < limit:
                time.sleep(interval)
        if action == "truncate":
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        if action == "stall":
            self._stall(float(fault.get("seconds", 60)))
            return
        if csize and has_body:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _stall(self, seconds):
        """Send nothing more for up to `seconds` (less if the peer hangs up),
        then close the connection."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            return
        end = time.time() + seconds
        conn = self.connection
        while time.time() < end:
            try:
                r, _, _ = select.select([conn], [], [], 0.1)
                if r and not conn.recv(1, socket.MSG_PEEK):
                    break  # the client gave up
                if r:
                    conn.recv(65536)  # discard anything else it sends
            except OSError:
                break
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _shape(real, fault):
        """A JSON answer of the wrong shape (see SHAPES)."""
        shape = fault.get("shape", "null")
        status = int(fault.get("status", real.status if real is not None else 200))
        fixed = {"null": None, "number": 12345, "string": "unexpected",
                 "array": [], "object": {}}
        if shape in fixed:
            return Response.json(fixed[shape], status=status)
        try:
            obj = json.loads(real.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            obj = None
        if shape == "missing":
            paths = fault.get("drop")
            if paths is None:
                paths = list(obj)[:1] if isinstance(obj, dict) else []
            for p in ([paths] if isinstance(paths, str) else paths):
                _drop_path(obj, p.split("."))
        else:  # wrongtype
            keys = fault.get("keys")
            if isinstance(obj, dict):
                for k in (keys if keys is not None else list(obj)):
                    if k in obj:
                        obj[k] = _wrong_type(obj[k])
            else:
                obj = _wrong_type(obj)
        return Response.json(obj, status=status)

    @staticmethod
    def _echo_key(req, fault):
        """An error that repeats the request's API key in every encoding:
        in the message, the details, the body and X-Request-Id."""
        auth = req.header("Authorization") or ""
        key = auth[4:].strip() if auth.startswith("TD1 ") else auth
        enc = key_encodings(key)
        which = fault.get("encoding")
        shown = [enc[which]] if which else list(enc.values())
        body = ('{"error": "Unauthorized", "message": "the key %s is not valid", "details": {"keys": ["%s"]}}'
                % (" ".join(shown), '", "'.join(shown)))
        resp = Response(int(fault.get("status", 401)), body.encode("utf-8"), "application/json; charset=utf-8")
        resp.headers.append(("X-Request-Id", "req-" + (enc[which] if which else enc["url_upper"])))
        return resp

    @staticmethod
    def _echo(req, fault):
        """The request itself: raw body, or a JSON description of it."""
        if fault.get("raw"):
            return Response(int(fault.get("status", 200)), req.body,
                            req.header("Content-Type") or "application/octet-stream")
        hdrs = {k.lower(): v for k, v in req.headers.items()
                if k.lower() not in ("authorization", "secondary-authorization")}
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return Response.json({"method": req.method, "path": req.path,
                              "query": req.query, "headers": hdrs,
                              "body": text, "body_size": len(req.body),
                              "form": req.form, "json": req.json},
                             status=int(fault.get("status", 200)))


def key_encodings(key):
    """The request's API key as a careless server might echo it."""
    import base64
    bare = key.split("/", 1)[1] if "/" in key else key
    up = urllib.parse.quote(key, safe="")
    return {
        "verbatim": key, "bare": bare, "url_upper": up,
        "url_lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), up),
        "json": key.replace("/", "\\/"),
        "basic": base64.b64encode(("user:" + key).encode()).decode(),
        "base64": base64.b64encode(key.encode()).decode(),
    }


def _drop_path(obj, parts):
    """Remove the key path a.b (a `*` part walks every list element)."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = obj if isinstance(obj, list) else (list(obj.values()) if isinstance(obj, dict) else [])
        for x in items:
            _drop_path(x, rest) if rest else None
        return
    if isinstance(obj, dict):
        if not rest:
            obj.pop(head, None)
        elif head in obj:
            _drop_path(obj[head], rest)


def _wrong_type(v):
    """A value of another JSON type than v."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v) + "x"
    if isinstance(v, str):
        return 12345
    if isinstance(v, list):
        return {"unexpected": True}
    if isinstance(v, dict):
        return ["unexpected"]
    return {}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # Connection-level problems (peer went away) are expected in tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, OSError)):
            return
        traceback.print_exc(file=sys.stderr)


# ---------------------------------------------------------------------------
# Start-up


def load_modules(app):
    register_control(app)
    if os.environ.get("FAKE_TD_CONTRACT", "1") != "0":
        import contract
        app.contract = contract.Checker()
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        mod = importlib.import_module(name)
        mod.register(app)
    app.reset()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    return True


def _watch_parent(pid):
    while True:
        if not _pid_alive(pid):
            os._exit(0)
        time.sleep(0.5)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fake-td", description="Fake Treasure Data API server for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--parent-pid", type=int)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    load_modules(APP)
    httpd = Server((args.host, args.port), Handler)
    port = httpd.server_address[1]

    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,),
                         daemon=True).start()

    def _stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    if args.port_file:
        write_port_file(args.port_file, port)
    if not args.quiet:
        sys.stderr.write("fake-td listening on http://%s:%d\n" % (args.host, port))
        sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
