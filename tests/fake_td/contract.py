"""contract: hold every request to TD's OpenAPI descriptions.

Each request the fake server receives (except the control API and the
pre-signed downloads) is checked against ``tests/spec/*.yml``:

* the endpoint (method + path) is described,
* path parameters have the described type (and enum),
* every query parameter is a described one, of the described type,
* required query parameters are present,
* a request body has a described content type, its fields are described
  ones (unless the schema says ``additionalProperties: true``), the
  required ones are present and each has the described type, enum and range.

What real TD servers accept beyond their descriptions is listed once, in
``deviations.yml`` next to this file; nothing else is special-cased.  A
violation is stored in the server (``GET /__fake/contract``) and noted in the
request's log entry; the test runner fails the test that caused it.
"""

import json
import os
import re
from urllib.parse import unquote

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_DIR = os.path.join(HERE, "..", "spec")
SPECS = (
    # (file, prefix of the request path the description's paths sit under)
    ("treasure-data-td-api-v3-openapi.yml", "/v3"),
    ("treasure-data-workflow-api-openapi.yml", ""),
)
DEVIATIONS = os.path.join(HERE, "deviations.yml")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NUM_RE = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
INT_RE = re.compile(r"^-?\d+$")


def _load_yaml(path):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


class Spec:
    """One OpenAPI document: operations, $ref resolution."""

    def __init__(self, doc, prefix):
        self.doc = doc
        self.prefix = prefix
        self.ops = []  # (method, regex, template, operation, path_item)
        for template, item in (doc.get("paths") or {}).items():
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch", "head"):
                    label = set()
                    for p in (item.get("parameters") or []) + (op.get("parameters") or []):
                        p = self.resolve(p)
                        if isinstance(p, dict) and p.get("style") == "label":
                            label.add(p.get("name"))
                    regex = self._regex(prefix + template, label)
                    self.ops.append((method.upper(), regex, prefix + template, op, item))

    @staticmethod
    def _regex(template, label=()):
        out, pos = [], 0
        for m in re.finditer(r"\{([^}]+)\}", template):
            out.append(re.escape(template[pos:m.start()]))
            name = re.sub(r"\W", "_", m.group(1))
            if m.group(1) in label:  # ".value", and TD also takes none
                out.append(r"(?:\.(?P<%s>[^/.]+))?" % name)
            else:
                out.append("(?P<%s>[^/]+?)" % name)
            pos = m.end()
        out.append(re.escape(template[pos:]))
        return re.compile("^" + "".join(out) + "$")

    def resolve(self, node, depth=0):
        while isinstance(node, dict) and "$ref" in node and depth < 50:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return {}
            cur = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                cur = cur.get(part, {}) if isinstance(cur, dict) else {}
            node = cur
            depth += 1
        return node if node is not None else {}


class Checker:
    def __init__(self):
        self.specs = []
        for name, prefix in SPECS:
            path = os.path.join(SPEC_DIR, name)
            if os.path.exists(path):
                self.specs.append(Spec(_load_yaml(path), prefix))
        dev = _load_yaml(DEVIATIONS) if os.path.exists(DEVIATIONS) else {}
        self.deviations = dev or {}
        self.skip = [re.compile(p) for p in self.deviations.get("not_checked", [])]
        self.omitted = [(d["method"].upper(), re.compile(d["path"]))
                        for d in self.deviations.get("omitted_endpoints", [])]
        # accepted deviations and known bugs: (method, path regex, violation regex)
        self.allowed = []
        for group in ("accepted", "known_bugs"):
            for d in self.deviations.get(group) or []:
                self.allowed.append((d["method"].upper(), re.compile(d["path"]),
                                     re.compile(d["violation"])))

    # -- matching ---------------------------------------------------------
    def find(self, method, path):
        best = None
        for spec in self.specs:
            for m, regex, template, op, item in spec.ops:
                if m != method:
                    continue
                mm = regex.match(path)
                if mm:
                    # prefer the most literal template (fewest parameters)
                    score = template.count("{")
                    if best is None or score < best[0]:
                        best = (score, spec, template, op, item, mm.groupdict())
        return best

    # -- the check --------------------------------------------------------
    def check(self, req):
        """A list of violation messages for one request (empty when fine)."""
        method, path = req.method, req.path
        if method == "HEAD":
            method = "GET"
        for rx in self.skip:
            if rx.search(path):
                return []
        found = self.find(method, path)
        if found is None:
            for m, rx in self.omitted:
                if m == method and rx.search(path):
                    return []
            return self._filter(method, path,
                                ["%s %s: endpoint not in TD's API description" % (method, path)])
        _, spec, template, op, item, caps = found
        out = []
        params = {}
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            p = spec.resolve(p)
            if isinstance(p, dict) and "name" in p:
                params[(p.get("in"), p["name"])] = p
        where = "%s %s" % (method, template)
        # path parameters
        names = re.findall(r"\{([^}]+)\}", template)
        for name in names:
            p = params.get(("path", name))
            raw = caps.get(re.sub(r"\W", "_", name))
            if p is None or raw is None:
                continue
            for e in self.validate(spec, p.get("schema") or {}, unquote(raw), "path " + name, True):
                out.append("%s: %s" % (where, e))
        # query parameters
        for name, value in req.query.items():
            p = params.get(("query", name))
            if p is None:
                out.append("%s: unknown query parameter %r" % (where, name))
                continue
            values = value if isinstance(value, list) else [value]
            schema = spec.resolve(p.get("schema") or {})
            if schema.get("type") == "array" or "explode" in p:
                vals = [values]
            else:
                if len(values) > 1:
                    out.append("%s: query parameter %r repeated" % (where, name))
                vals = values[-1:]
            for v in vals:
                for e in self.validate(spec, schema, v, "query " + name, True):
                    out.append("%s: %s" % (where, e))
        for (inn, name), p in params.items():
            if inn == "query" and p.get("required") and name not in req.query:
                out.append("%s: required query parameter %r missing" % (where, name))
        # the body
        out += self._check_body(spec, op, req, method, path, where)
        return self._filter(method, path, out)

    def _check_body(self, spec, op, req, method, path, where):
        body_spec = spec.resolve(op.get("requestBody") or {})
        content = body_spec.get("content") or {}
        ctype = req.content_type
        has_body = bool(req.body)
        if not has_body:
            if body_spec.get("required"):
                return ["%s: request body required" % where]
            # an empty body still has to carry the required fields
            schema = self._pick(content, (JSON, FORM))
            if schema is not None and ctype not in ("", None):
                return ["%s: %s" % (where, e) for e in
                        self.validate(spec, schema, {}, "body", ctype == FORM)]
            return []
        if not content:
            return ["%s: a request body (%s) where TD's description has none"
                    % (where, ctype or "no content type")]
        if ctype in content:
            schema = spec.resolve(content[ctype].get("schema") or {})
        elif "*/*" in content:
            schema = spec.resolve(content["*/*"].get("schema") or {})
        else:
            alt = self._pick(content, (JSON, FORM))
            wrong = ["%s: body sent as %s, TD's description has %s"
                     % (where, ctype or "no content type", ", ".join(sorted(content)))]
            if alt is None or ctype not in (JSON, FORM):
                return wrong
            # the fields are still checked, against the described body
            return wrong + ["%s: %s" % (where, e) for e in self.validate(
                spec, alt, req.form if ctype == FORM else req.json, "body", ctype == FORM)]
        if ctype == FORM:
            value = req.form if req.form is not None else {}
        elif ctype == JSON or ctype.endswith("+json"):
            value = req.json
        else:
            return []  # binary bodies (msgpack.gz, tar.gz): not described field by field
        errs = self.validate(spec, schema, value, "body", ctype == FORM)
        return ["%s: %s" % (where, e) for e in errs]

    @staticmethod
    def _pick(content, types):
        for t in types:
            if t in content:
                return content[t].get("schema") or {}
        return None

    def _filter(self, method, path, msgs):
        out = []
        for msg in msgs:
            known = any(m == method and rx.search(path) and v.search(msg)
                        for m, rx, v in self.allowed)
            if not known:
                out.append(msg)
        return out

    # -- schemas ----------------------------------------------------------
    def validate(self, spec, schema, value, where, form, depth=0):
        """Violations of value against a JSON schema (form: strings coerce)."""
        schema = spec.resolve(schema)
        if not isinstance(schema, dict) or depth > 40:
            return []
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            props = dict(spec.resolve(merged).get("properties") or {})
            req = list(merged.get("required") or [])
            extra = merged.get("additionalProperties")
            out = []
            for sub in schema["allOf"]:
                sub = spec.resolve(sub)
                if "allOf" in sub or "oneOf" in sub or "anyOf" in sub:
                    out += self.validate(spec, sub, value, where, form, depth + 1)
                    continue
                props.update(sub.get("properties") or {})
                req += sub.get("required") or []
                if sub.get("additionalProperties") is True:
                    extra = True
                for k, v in sub.items():
                    if k not in ("properties", "required", "additionalProperties"):
                        merged.setdefault(k, v)
            merged["properties"] = props
            merged["required"] = req
            if extra is not None:
                merged["additionalProperties"] = extra
            return out + self.validate(spec, merged, value, where, form, depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                alts = [self.validate(spec, s, value, where, form, depth + 1)
                        for s in schema[key]]
                if not any(len(a) == 0 for a in alts):
                    return min(alts, key=len)
                return []
        if value is None:
            if schema.get("nullable") or not schema.get("type"):
                return []
            return ["%s: null where TD's description has %s" % (where, schema.get("type"))]
        typ = schema.get("type")
        if typ is None and "properties" in schema:
            typ = "object"
        out = []
        if typ == "object":
            if not isinstance(value, dict):
                if form and isinstance(value, str):
                    try:
                        value = json.loads(value)
                    except ValueError:
                        return ["%s: %r is not an object" % (where, value)]
                    if not isinstance(value, dict):
                        return ["%s: not an object" % where]
                else:
                    return ["%s: %s where TD's description has an object"
                            % (where, type(value).__name__)]
            props = schema.get("properties") or {}
            for name in schema.get("required") or []:
                if name not in value:
                    out.append("%s: required field %r missing" % (where, name))
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    out += self.validate(spec, props[k], v, "%s.%s" % (where, k), form, depth + 1)
                elif isinstance(extra, dict):
                    out += self.validate(spec, extra, v, "%s.%s" % (where, k), form, depth + 1)
                elif extra is not True and props:
                    out.append("%s: unknown field %r" % (where, k))
            return out
        if typ == "array":
            if form and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = [value]
            if not isinstance(value, list):
                return ["%s: %s where TD's description has an array"
                        % (where, type(value).__name__)]
            items = schema.get("items") or {}
            for i, v in enumerate(value):
                out += self.validate(spec, items, v, "%s[%d]" % (where, i), form, depth + 1)
            return out
        if form and isinstance(value, list):
            value = value[-1]
        if typ == "integer":
            if isinstance(value, bool) or not (
                    isinstance(value, int) or (isinstance(value, float) and value.is_integer())
                    or (form and isinstance(value, str) and INT_RE.match(value))):
                return ["%s: %r is not an integer" % (where, value)]
            value = int(value)
        elif typ == "number":
            if isinstance(value, bool) or not (
                    isinstance(value, (int, float))
                    or (form and isinstance(value, str) and NUM_RE.match(value))):
                return ["%s: %r is not a number" % (where, value)]
            value = float(value)
        elif typ == "boolean":
            if not (isinstance(value, bool)
                    or (form and isinstance(value, str) and value in ("true", "false"))):
                return ["%s: %r is not a boolean" % (where, value)]
        elif typ == "string":
            if not isinstance(value, str):
                if not (form and isinstance(value, (int, float))):
                    return ["%s: %r is not a string" % (where, value)]
                value = str(value)
        if "enum" in schema and value not in schema["enum"] \
                and str(value) not in [str(e) for e in schema["enum"]]:
            out.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
        if typ in ("integer", "number"):
            if "minimum" in schema and value < schema["minimum"]:
                out.append("%s: %r is below the minimum %s" % (where, value, schema["minimum"]))
            if "maximum" in schema and value > schema["maximum"]:
                out.append("%s: %r is above the maximum %s" % (where, value, schema["maximum"]))
        return out
