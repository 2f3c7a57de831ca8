"""Access control and connection endpoints of the fake TD server (/v3).

Covers the parts of TD's v3 description that ``v3.py`` leaves out:
``access_control/*`` (policies, their users, permissions and column
permissions, users' permissions and profile options, policy groups),
``policy_group_tags/*``, ``connections/lookup``,
``connector_configs/validate_with_connection``,
``data_connector_restrictions`` and ``user/delegated_admin/*``.

Users and saved results (connections) are the ones of ``v3.py``'s state;
everything else lives in one ``AccessState`` rebuilt on reset.  Bodies are
JSON (form bodies are accepted where TD's description says so).  See
README.md, section "Access control module".
"""

import json
import re

import v3
from server import ApiError, Response

ACCOUNT_ID = v3.ACCOUNT_ID

# The resource types of TD's AccessControlPermissions (policy permissions).
POLICY_RESOURCES = (
    "WorkflowProject", "WorkflowProjectLevel", "WorkflowRestrictedOperators",
    "Segmentation", "PersonalizationStudio", "MasterSegmentConfigs",
    "MasterSegmentConfig", "MasterSegmentColumn", "MasterSegmentAllColumns",
    "CookieConsent", "SegmentAllFolders", "SegmentFolder", "Profiles",
    "ProfilesApiToken", "ActivationTemplate", "Authentications", "Sources",
    "Destinations", "Databases", "UniversalConsent", "TrafficControls",
    "TrafficControl", "Journeys", "Journey", "LlmProject", "RawDataAccess",
)
# ... and of AccessControlUnpaidPermissions (a user's own permissions).
USER_RESOURCES = (
    "WorkflowProject", "Segmentation", "MasterSegmentConfigs",
    "MasterSegmentConfig", "SegmentAllFolders", "SegmentFolder",
    "ActivationTemplate",
)
# Operations checked for the resource types tests use most.
OPERATIONS = {
    "WorkflowProject": ("view", "run", "edit"),
    "Databases": ("query", "edit", "import", "manage", "owner_manage", "download"),
    "Segmentation": ("full",),
}
# Profile option keys and their account defaults.
PROFILE_OPTIONS = {"treasure_ai_studio": None, "audience_studio": "view"}

RESTRICTIONS = {
    "mysql": {"import": True, "export": False},
    "s3": {"import": True, "export": True},
    "snowflake": {"streaming_in": False, "streaming_out": False},
}


def iso(epoch):
    return v3.iso_time(epoch)


class AccessState:
    def __init__(self):
        now = v3.BASE_EPOCH
        self.policies = {
            1: {"id": 1, "name": "analysts", "description": "Query access for analysts",
                "permissions": {"Databases": [{"operation": "query", "ids": "1,2"}]},
                "column_permissions": [{"tags": ["pii"], "except": False, "masking": "hash"}]},
            2: {"id": 2, "name": "workflow_editors", "description": "Edit workflow projects",
                "permissions": {"WorkflowProject": [{"operation": "edit"}]},
                "column_permissions": []},
        }
        self.next_policy_id = 3
        self.user_policies = {1: [], 2: [1]}          # user id -> policy ids
        self.user_permissions = {1: {}, 2: {"WorkflowProject": [{"operation": "view"}]}}
        self.profile_options = {}                     # user id -> {key: value}
        self.groups = {
            1: {"id": 1, "name": "Marketing", "taggable_name": "marketing",
                "description": "Marketing team policies", "policy_ids": [1],
                "created_at": now, "updated_at": now},
        }
        self.next_group_id = 2
        self.tags = {"marketing": {"delegated_admins": [], "users": ["2"]}}
        self.connection_ids = {}                      # saved result name -> id
        self.next_connection_id = 17
        self.delegated_admins = set()                 # e-mail addresses

    # -- lookups -----------------------------------------------------------
    def policy(self, pid):
        p = self.policies.get(_int(pid)) if _is_int(pid) else None
        if p is None:
            raise ApiError(404, "Policy '%s' does not exist" % pid)
        return p

    def user(self, uid):
        if _is_int(uid):
            for u in v3.S().users.values():
                if u["id"] == int(uid):
                    return u
        raise ApiError(404, "User '%s' does not exist" % uid)

    def group(self, key):
        for g in self.groups.values():
            if str(g["id"]) == str(key) or g["taggable_name"] == key:
                return g
        raise ApiError(404, "Policy group '%s' does not exist" % key)

    def tag(self, name):
        if not any(g["taggable_name"] == name for g in self.groups.values()):
            raise ApiError(404, "Policy group tag '%s' does not exist" % name)
        return self.tags.setdefault(name, {"delegated_admins": [], "users": []})

    # -- JSON --------------------------------------------------------------
    def policy_json(self, p):
        count = sum(1 for ids in self.user_policies.values() if p["id"] in ids)
        return {"id": p["id"], "account_id": ACCOUNT_ID, "name": p["name"],
                "description": p["description"], "user_count": count}

    def user_json(self, u):
        ids = self.user_policies.get(u["id"], [])
        return {"user_id": u["id"], "account_id": ACCOUNT_ID,
                "permissions": self.user_permissions.get(u["id"], {}),
                "policies": [self.policy_json(self.policies[i]) for i in ids
                             if i in self.policies]}

    def group_json(self, g):
        return {"id": g["id"], "account_id": ACCOUNT_ID, "name": g["name"],
                "taggable_name": g["taggable_name"], "description": g["description"],
                "policy_count": len(g["policy_ids"]),
                "created_at": iso(g["created_at"]), "updated_at": iso(g["updated_at"])}

    def options(self, uid):
        out = dict(PROFILE_OPTIONS)
        out.update(self.profile_options.get(uid, {}))
        return out


STATE = None


def S():
    return STATE


def reset(app):
    global STATE
    STATE = AccessState()


def dump_state(app):
    s = STATE
    return {"policies": sorted(p["name"] for p in s.policies.values()),
            "user_policies": {str(k): v for k, v in s.user_policies.items() if v},
            "policy_groups": sorted(g["name"] for g in s.groups.values()),
            "delegated_admins": sorted(s.delegated_admins)}


# ---------------------------------------------------------------------------
# Helpers


def _is_int(v):
    return isinstance(v, int) or (isinstance(v, str) and v.isdigit())


def _int(v):
    return int(v)


def body(req):
    """The JSON object body (or the form/query parameters)."""
    if isinstance(req.json, dict):
        return req.json
    if req.json is not None:
        raise ApiError(400, "the request body must be a JSON object")
    return dict(req.params)


def id_list(value, what):
    if not isinstance(value, list):
        raise ApiError(400, "%s must be an array" % what)
    out = []
    for x in value:
        if isinstance(x, bool) or not _is_int(x):
            raise ApiError(400, "%s must hold ids (integers or digit strings): %r" % (what, x))
        out.append(int(x))
    return out


def now():
    return v3.S().now()


def check_permissions(perms, allowed):
    if not isinstance(perms, dict):
        raise ApiError(400, "permissions must be a JSON object")
    for resource, grants in perms.items():
        if resource not in allowed:
            raise ApiError(422, "Unknown resource type '%s'" % resource)
        if not isinstance(grants, list):
            raise ApiError(400, "%s must be an array" % resource)
        for g in grants:
            if not isinstance(g, dict) or not isinstance(g.get("operation"), str):
                raise ApiError(400, "each %s permission needs an operation" % resource)
            ops = OPERATIONS.get(resource)
            if ops and g["operation"] not in ops:
                raise ApiError(422, "Invalid operation '%s' for %s (one of %s)"
                               % (g["operation"], resource, ", ".join(ops)))


# ---------------------------------------------------------------------------
# Policies


def h_policies(req):
    s = S()
    tag = req.param("column_permission_tag")
    out = []
    for p in sorted(s.policies.values(), key=lambda p: p["id"]):
        if tag and not any(tag in cp["tags"] for cp in p["column_permissions"]):
            continue
        out.append(s.policy_json(p))
    return out


def _policy_fields(b, required):
    pol = b.get("policy")
    if not isinstance(pol, dict):
        raise ApiError(400, "policy is required (an object with name and description)")
    name = pol.get("name")
    if required and (not isinstance(name, str) or not name.strip()):
        raise ApiError(400, "policy.name is required")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ApiError(400, "policy.name must be a non-empty string")
    desc = pol.get("description")
    if desc is not None and not isinstance(desc, str):
        raise ApiError(400, "policy.description must be a string")
    return name, desc


def _unique_policy_name(s, name, pid=None):
    for p in s.policies.values():
        if p["name"] == name and p["id"] != pid:
            raise ApiError(409, "Policy '%s' already exists" % name)


def h_policy_create(req):
    s = S()
    name, desc = _policy_fields(body(req), True)
    _unique_policy_name(s, name)
    p = {"id": s.next_policy_id, "name": name, "description": desc,
         "permissions": {}, "column_permissions": []}
    s.next_policy_id += 1
    s.policies[p["id"]] = p
    return s.policy_json(p)


def h_policy_show(req, policy_id):
    s = S()
    return s.policy_json(s.policy(policy_id))


def h_policy_update(req, policy_id):
    s = S()
    p = s.policy(policy_id)
    name, desc = _policy_fields(body(req), False)
    if name is not None:
        _unique_policy_name(s, name, p["id"])
        p["name"] = name
    if desc is not None:
        p["description"] = desc
    return s.policy_json(p)


def h_policy_delete(req, policy_id):
    s = S()
    p = s.policy(policy_id)
    out = s.policy_json(p)
    del s.policies[p["id"]]
    for ids in s.user_policies.values():
        if p["id"] in ids:
            ids.remove(p["id"])
    for g in s.groups.values():
        if p["id"] in g["policy_ids"]:
            g["policy_ids"].remove(p["id"])
    return out


def h_user_policies(req, user_id):
    s = S()
    u = s.user(user_id)
    return [s.policy_json(s.policies[i]) for i in s.user_policies.get(u["id"], [])
            if i in s.policies]


def h_user_policies_update(req, user_id):
    s = S()
    u = s.user(user_id)
    ids = id_list(body(req).get("policy_ids"), "policy_ids")
    for i in ids:
        if i not in s.policies:
            raise ApiError(422, "Policy '%d' does not exist" % i)
    s.user_policies[u["id"]] = sorted(set(ids))
    return h_user_policies(req, user_id)


def _attach(s, uid, pid):
    u = s.user(uid)
    p = s.policy(pid)
    ids = s.user_policies.setdefault(u["id"], [])
    if p["id"] not in ids:
        ids.append(p["id"])
        ids.sort()
    return s.policy_json(p)


def _detach(s, uid, pid):
    u = s.user(uid)
    p = s.policy(pid)
    ids = s.user_policies.setdefault(u["id"], [])
    if p["id"] not in ids:
        raise ApiError(404, "Policy '%s' is not attached to user '%s'" % (pid, uid))
    ids.remove(p["id"])
    return s.policy_json(p)


def h_attach_user_policy(req, user_id, policy_id):
    return _attach(S(), user_id, policy_id)


def h_detach_user_policy(req, user_id, policy_id):
    return _detach(S(), user_id, policy_id)


def h_policy_users(req, policy_id):
    s = S()
    p = s.policy(policy_id)
    out = []
    for u in sorted(v3.S().users.values(), key=lambda u: u["id"]):
        if p["id"] in s.user_policies.get(u["id"], []):
            out.append({"user_id": u["id"], "account_id": ACCOUNT_ID,
                        "email": u["email"], "name": u["name"]})
    return out


def h_policy_users_update(req, policy_id):
    s = S()
    p = s.policy(policy_id)
    ids = id_list(body(req).get("user_ids"), "user_ids")
    users = []
    for i in ids:
        try:
            users.append(s.user(i))
        except ApiError:
            raise ApiError(422, "User '%d' does not exist" % i)
    wanted = {u["id"] for u in users}
    for uid, pids in s.user_policies.items():
        if p["id"] in pids and uid not in wanted:
            pids.remove(p["id"])
    for uid in wanted:
        pids = s.user_policies.setdefault(uid, [])
        if p["id"] not in pids:
            pids.append(p["id"])
            pids.sort()
    return [s.user_json(u) for u in sorted(users, key=lambda u: u["id"])]


def h_attach_policy_user(req, policy_id, user_id):
    return _attach(S(), user_id, policy_id)


def h_detach_policy_user(req, policy_id, user_id):
    return _detach(S(), user_id, policy_id)


# ---------------------------------------------------------------------------
# Permissions


def h_column_permissions(req, policy_id):
    return S().policy(policy_id)["column_permissions"]


def h_column_permissions_update(req, policy_id):
    p = S().policy(policy_id)
    cps = body(req).get("column_permissions")
    if not isinstance(cps, list):
        raise ApiError(400, "column_permissions is required (an array)")
    out = []
    for cp in cps:
        if not isinstance(cp, dict):
            raise ApiError(400, "each column permission must be an object")
        tags = cp.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, "tags must be an array of strings")
        if cp.get("masking") not in (None, "hash"):
            raise ApiError(422, "Invalid masking '%s' (only 'hash')" % cp.get("masking"))
        if cp.get("except") is not None and not isinstance(cp.get("except"), bool):
            raise ApiError(400, "except must be a boolean")
        out.append({"tags": tags, "except": cp.get("except"), "masking": cp.get("masking")})
    p["column_permissions"] = out
    return out


def h_permissions(req, policy_id):
    return S().policy(policy_id)["permissions"]


def h_permissions_update(req, policy_id):
    p = S().policy(policy_id)
    perms = body(req)
    check_permissions(perms, POLICY_RESOURCES)
    for k, v in perms.items():
        if v:
            p["permissions"][k] = v
        else:
            p["permissions"].pop(k, None)
    return p["permissions"]


# ---------------------------------------------------------------------------
# Access control users and profile options


def h_ac_users(req):
    s = S()
    return [s.user_json(u) for u in sorted(v3.S().users.values(), key=lambda u: u["id"])]


def h_ac_user(req, user_id):
    s = S()
    return s.user_json(s.user(user_id))


def h_ac_user_permissions(req, user_id):
    s = S()
    u = s.user(user_id)
    perms = body(req)
    check_permissions(perms, USER_RESOURCES)
    mine = s.user_permissions.setdefault(u["id"], {})
    for k, v in perms.items():
        if v:
            mine[k] = v
        else:
            mine.pop(k, None)
    return {"user_id": u["id"], "permissions": mine}


def _option_key(key):
    if key not in PROFILE_OPTIONS:
        raise ApiError(404, "Profile option '%s' does not exist" % key)
    return key


def h_profile_options(req, user_id):
    s = S()
    return s.options(s.user(user_id)["id"])


def h_profile_option(req, user_id, key):
    s = S()
    u = s.user(user_id)
    _option_key(key)
    return {key: s.options(u["id"])[key]}


def h_profile_option_set(req, user_id, key):
    s = S()
    u = s.user(user_id)
    _option_key(key)
    value = body(req).get("value")
    if not isinstance(value, str) or not value:
        raise ApiError(400, "value is required (a string)")
    s.profile_options.setdefault(u["id"], {})[key] = value
    return {key: value}


def h_profile_option_delete(req, user_id, key):
    s = S()
    u = s.user(user_id)
    _option_key(key)
    s.profile_options.get(u["id"], {}).pop(key, None)
    return Response(204)


# ---------------------------------------------------------------------------
# Policy groups and their tags


def _taggable(name):
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "group"


def _group_name(b, required):
    name = b.get("name")
    if (required or name is not None) and (not isinstance(name, str) or not name.strip()):
        raise ApiError(400, "name is required")
    return name


def h_groups(req):
    s = S()
    return [s.group_json(g) for g in sorted(s.groups.values(), key=lambda g: g["id"])]


def h_group_create(req):
    s = S()
    name = _group_name(body(req), True)
    tag = _taggable(name)
    for g in s.groups.values():
        if g["name"] == name or g["taggable_name"] == tag:
            raise ApiError(409, "Policy group '%s' already exists" % name)
    t = int(now())
    g = {"id": s.next_group_id, "name": name, "taggable_name": tag, "description": None,
         "policy_ids": [], "created_at": t, "updated_at": t}
    s.next_group_id += 1
    s.groups[g["id"]] = g
    s.tags[tag] = {"delegated_admins": [], "users": []}
    return s.group_json(g)


def h_group_show(req, group):
    s = S()
    return s.group_json(s.group(group))


def h_group_update(req, group):
    s = S()
    g = s.group(group)
    b = body(req)
    name = _group_name(b, True)
    for other in s.groups.values():
        if other["name"] == name and other is not g:
            raise ApiError(409, "Policy group '%s' already exists" % name)
    g["name"] = name
    if "description" in b:
        if b["description"] is not None and not isinstance(b["description"], str):
            raise ApiError(400, "description must be a string")
        g["description"] = b["description"]
    g["updated_at"] = int(now())
    return s.group_json(g)


def h_group_delete(req, group):
    s = S()
    g = s.group(group)
    del s.groups[g["id"]]
    s.tags.pop(g["taggable_name"], None)
    return {}


def h_group_policies(req, group):
    return {"policy_ids": list(S().group(group)["policy_ids"])}


def h_group_policies_update(req, group):
    s = S()
    g = s.group(group)
    ids = id_list(body(req).get("policy_ids"), "policy_ids")
    for i in ids:
        if i not in s.policies:
            raise ApiError(422, "Policy '%d' does not exist" % i)
    g["policy_ids"] = sorted(set(ids))
    g["updated_at"] = int(now())
    return {"policy_ids": list(g["policy_ids"])}


def _tag_ids(req, tag, what):
    return {"user_ids": list(S().tag(tag)[what])}


def _tag_update(req, tag, what):
    s = S()
    t = s.tag(tag)
    ids = id_list(body(req).get("user_ids"), "user_ids")
    for i in ids:
        try:
            s.user(i)
        except ApiError:
            raise ApiError(422, "User '%d' does not exist" % i)
    t[what] = [str(i) for i in sorted(set(ids))]
    return Response(204)


def h_tag_admins(req, tag):
    return _tag_ids(req, tag, "delegated_admins")


def h_tag_admins_update(req, tag):
    return _tag_update(req, tag, "delegated_admins")


def h_tag_users(req, tag):
    return _tag_ids(req, tag, "users")


def h_tag_users_update(req, tag):
    return _tag_update(req, tag, "users")


# ---------------------------------------------------------------------------
# Connections, connector configs, restrictions, delegated admins


def _connection_id(s, name):
    if name not in s.connection_ids:
        s.connection_ids[name] = s.next_connection_id
        s.next_connection_id += 1
    return s.connection_ids[name]


def h_connection_lookup(req):
    s = S()
    name = req.param("name")
    if not name:
        raise ApiError(400, "name is required")
    if name not in v3.S().results:
        raise ApiError(404, "Connection '%s' does not exist" % name)
    return {"id": _connection_id(s, name)}


def h_validate_connector(req):
    s = S()
    b = body(req)
    ctype = b.get("type")
    if not isinstance(ctype, str) or not ctype:
        raise ApiError(400, "type is required")
    settings = b.get("settings", {})
    if isinstance(settings, str):
        try:
            settings = json.loads(settings)
        except ValueError:
            raise ApiError(400, "settings is not valid JSON")
    if not isinstance(settings, dict):
        raise ApiError(400, "settings must be an object")
    cid = b.get("connection_id")
    if cid is not None:
        if not _is_int(cid) or int(cid) not in s.connection_ids.values():
            raise ApiError(404, "Connection '%s' does not exist" % cid)
        name = next(n for n, i in s.connection_ids.items() if i == int(cid))
        if name not in v3.S().results:
            raise ApiError(404, "Connection '%s' does not exist" % cid)
    if ctype == "s3" and not settings.get("bucket"):
        raise ApiError(422, "Invalid configuration for s3: bucket is required")
    if ctype not in RESTRICTIONS and ctype not in ("td", "postgresql", "s3"):
        raise ApiError(422, "Unknown connector type '%s'" % ctype)
    out = dict(settings)
    out.setdefault("mode", "append")
    return {"type": ctype, "settings": out}


def h_restrictions(req):
    return RESTRICTIONS


def _user_by_email(email):
    for u in v3.S().users.values():
        if u["email"] == email:
            return u
    raise ApiError(404, "User '%s' does not exist" % email)


def h_delegated_admin_add(req, email):
    u = _user_by_email(email)
    if u.get("administrator"):
        raise ApiError(422, "User '%s' is an administrator already" % email)
    S().delegated_admins.add(email)
    return {"user_email": email, "delegated_admin": True}


def h_delegated_admin_remove(req, email):
    _user_by_email(email)
    S().delegated_admins.discard(email)
    return {"user_email": email, "delegated_admin": False}


# ---------------------------------------------------------------------------
# Registration


def register(app):
    app.on_reset(reset)
    app.on_state("access", dump_state)

    def r(method, pattern, handler, **kw):
        app.route(method, "/v3" + pattern, handler, **kw)

    W = {"write": True}
    A = "/access_control"
    r("GET", A + "/policies", h_policies)
    r("POST", A + "/policies", h_policy_create, **W)
    r("GET", A + "/policies/<policy_id>", h_policy_show)
    r("PATCH", A + "/policies/<policy_id>", h_policy_update, **W)
    r("DELETE", A + "/policies/<policy_id>", h_policy_delete, **W)
    r("GET", A + "/policies/<policy_id>/column_permissions", h_column_permissions)
    r("PATCH", A + "/policies/<policy_id>/column_permissions", h_column_permissions_update, **W)
    r("GET", A + "/policies/<policy_id>/permissions", h_permissions)
    r("PATCH", A + "/policies/<policy_id>/permissions", h_permissions_update, **W)
    r("GET", A + "/policies/<policy_id>/users", h_policy_users)
    r("PATCH", A + "/policies/<policy_id>/users", h_policy_users_update, **W)
    r("POST", A + "/policies/<policy_id>/users/<user_id>", h_attach_policy_user, **W)
    r("DELETE", A + "/policies/<policy_id>/users/<user_id>", h_detach_policy_user, **W)

    r("GET", A + "/users", h_ac_users)
    r("GET", A + "/users/<user_id>", h_ac_user)
    r("PATCH", A + "/users/<user_id>/permissions", h_ac_user_permissions, **W)
    r("GET", A + "/users/<user_id>/policies", h_user_policies)
    r("PATCH", A + "/users/<user_id>/policies", h_user_policies_update, **W)
    r("POST", A + "/users/<user_id>/policies/<policy_id>", h_attach_user_policy, **W)
    r("DELETE", A + "/users/<user_id>/policies/<policy_id>", h_detach_user_policy, **W)
    r("GET", A + "/users/<user_id>/profile_options", h_profile_options)
    r("GET", A + "/users/<user_id>/profile_options/<key>", h_profile_option)
    r("PUT", A + "/users/<user_id>/profile_options/<key>", h_profile_option_set, **W)
    r("DELETE", A + "/users/<user_id>/profile_options/<key>", h_profile_option_delete, **W)

    r("GET", A + "/policy_groups", h_groups)
    r("POST", A + "/policy_groups", h_group_create, **W)
    r("GET", A + "/policy_groups/<group>", h_group_show)
    r("PATCH", A + "/policy_groups/<group>", h_group_update, **W)
    r("DELETE", A + "/policy_groups/<group>", h_group_delete, **W)
    r("GET", A + "/policy_groups/<group>/policies", h_group_policies)
    r("PATCH", A + "/policy_groups/<group>/policies", h_group_policies_update, **W)

    r("GET", "/policy_group_tags/<tag>/delegated_admins", h_tag_admins)
    r("PATCH", "/policy_group_tags/<tag>/delegated_admins", h_tag_admins_update, **W)
    r("GET", "/policy_group_tags/<tag>/users", h_tag_users)
    r("PATCH", "/policy_group_tags/<tag>/users", h_tag_users_update, **W)

    r("GET", "/connections/lookup", h_connection_lookup)
    r("POST", "/connector_configs/validate_with_connection", h_validate_connector)
    r("GET", "/data_connector_restrictions", h_restrictions)
    r("POST", "/user/delegated_admin/add/<email>", h_delegated_admin_add, **W)
    r("POST", "/user/delegated_admin/remove/<email>", h_delegated_admin_remove, **W)
