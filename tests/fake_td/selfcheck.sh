#!/bin/sh
# Quick smoke test of the fake TD server with curl: starts an instance on a
# free port, exercises auth, paging, the job life cycle, result formats,
# Range/If-Range, imports and every fault action, then stops it.
# Usage: tests/fake_td/selfcheck.sh        (exit status 0 = all good)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d)
PORTFILE=$TMP/port
"$HERE/../../scripts/fake-td" --port-file "$PORTFILE" --parent-pid $$ --quiet &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
i=0
while [ ! -s "$PORTFILE" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
B="http://127.0.0.1:$(cat "$PORTFILE")"
KEY="TD1 1/0123456789abcdef0123456789abcdef01234567"
QKEY="TD1 2/fedcba9876543210fedcba9876543210fedcba98"
FAILS=0

ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s: %s\n' "$1" "$2"; FAILS=$((FAILS + 1)); }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected [$2] got [$3]"; fi; }
# jget JSON PYEXPR  -> evaluates PYEXPR with j = parsed JSON
jget() { printf '%s' "$1" | $PY -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
api() { curl -s -H "Authorization: $KEY" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# --- auth ---------------------------------------------------------------
check "server_status without key" 200 "$(code "$B/v3/system/server_status")"
check "no key -> 401" 401 "$(code "$B/v3/database/list")"
check "bad key -> 401" 401 "$(code -H 'Authorization: TD1 1/nope' "$B/v3/database/list")"
check "good key -> 200" 200 "$(code -H "Authorization: $KEY" "$B/v3/database/list")"
check "query_only create -> 403" 403 "$(code -X POST -H "Authorization: $QKEY" "$B/v3/database/create/zzz_db")"
check "query_only list -> 200" 200 "$(code -H "Authorization: $QKEY" "$B/v3/database/list")"
check "unknown db -> 404" 404 "$(code -H "Authorization: $KEY" "$B/v3/database/show/nope")"
check "404 message" "Database 'nope' does not exist" "$(jget "$(api "$B/v3/database/show/nope")" 'j["message"]')"
check "unknown route -> 404" 404 "$(code -H "Authorization: $KEY" "$B/v3/nothing/here")"
check "wrong method -> 405" 405 "$(code -X POST -H "Authorization: $KEY" "$B/v3/database/list")"

# --- databases / tables ---------------------------------------------------
check "db create" '{"database": "my_db"}' "$(api -X POST "$B/v3/database/create/my_db")"
check "db create dup -> 409" 409 "$(code -X POST -H "Authorization: $KEY" "$B/v3/database/create/my_db")"
check "table create" "my_tbl" "$(jget "$(api -X POST "$B/v3/table/create/my_db/my_tbl/log")" 'j["table"]')"
check "schema string" "str" "$(jget "$(api "$B/v3/table/show/sample_datasets/www_access")" 'type(j["schema"]).__name__')"
check "update-schema json" 200 "$(code -H "Authorization: $KEY" -H 'Content-Type: application/json' -d '{"schema":[["a","string"],["b","long"]]}' "$B/v3/table/update-schema/my_db/my_tbl")"
check "schema updated" '[["a", "string"], ["b", "long"]]' "$(jget "$(api "$B/v3/table/show/my_db/my_tbl")" 'j["schema"]')"
$PY -c '
import msgpack, gzip, sys
p = msgpack.Packer()
sys.stdout.buffer.write(gzip.compress(b"".join(p.pack({"time": 1700000000 + i, "a": "x%d" % i, "b": i}) for i in range(3))))' > "$TMP/imp.gz"
check "import" 3 "$(jget "$(api -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/imp.gz" "$B/v3/table/import_with_id/my_db/my_tbl/u1/msgpack.gz")" 'len(j["md5_hex"]) and 3')"
api -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/imp.gz" "$B/v3/table/import_with_id/my_db/my_tbl/u1/msgpack.gz" >/dev/null
check "import dedup by unique_id" 3 "$(jget "$(api "$B/v3/table/show/my_db/my_tbl")" 'j["count"]')"
check "tail" "x1,x2" "$(api "$B/v3/table/tail/my_db/my_tbl?count=2" | $PY -c 'import msgpack,sys; print(",".join(r["a"] for r in msgpack.Unpacker(sys.stdin.buffer, raw=False)))')"

# --- job list paging ------------------------------------------------------
J=$(api "$B/v3/job/list?from=0&to=4")
check "job list window inclusive" 5 "$(jget "$J" 'len(j["jobs"])')"
check "job list newest first" "1025" "$(jget "$J" 'j["jobs"][0]["job_id"]')"
check "job list count" 25 "$(jget "$J" 'j["count"]')"
check "job list status filter" "error" "$(jget "$(api "$B/v3/job/list?status=error")" '",".join(sorted(set(x["status"] for x in j["jobs"])))')"

# --- job life cycle ------------------------------------------------------
R=$(api --data-urlencode 'query=SELECT * FROM t -- fake_rows(50)' "$B/v3/job/issue/presto/sample_datasets")
ID=$(jget "$R" 'j["job_id"]')
S=""
for n in 1 2 3 4; do S="$S $(jget "$(api "$B/v3/job/status/$ID")" 'j["status"]')"; done
check "job states" " queued running running success" "$S"
check "num_records" 50 "$(jget "$(api "$B/v3/job/show/$ID")" 'j["num_records"]')"
check "domain_key first" 200 "$(code -H "Authorization: $KEY" -d 'query=SELECT 1' -d domain_key=dk1 "$B/v3/job/issue/presto/web")"
R=$(api -d 'query=SELECT 1' -d domain_key=dk1 "$B/v3/job/issue/presto/web")
check "domain_key conflict" "True" "$(jget "$R" '"conflicts_with" in j["details"]')"
E=$(jget "$(api -d 'query=SELECT nope -- fake_error' "$B/v3/job/issue/presto/web")" 'j["job_id"]')
for n in 1 2 3; do api "$B/v3/job/status/$E" >/dev/null; done
check "error job" "error Query failed" "$(jget "$(api "$B/v3/job/show/$E")" 'j["status"] + " " + j["debug"]["stderr"][:12]')"
check "result of error job -> 404" 404 "$(code -H "Authorization: $KEY" "$B/v3/job/result/$E?format=json")"

# --- result formats -----------------------------------------------------------
check "json lines" 50 "$(api "$B/v3/job/result/$ID?format=json" | wc -l | tr -d ' ')"
check "csv header" "id,name,score,active,note,tags" "$(api "$B/v3/job/result/$ID?format=csv&header=true" | head -1)"
check "tsv header" "$(printf 'id\tname\tscore\tactive\tnote\ttags')" "$(api "$B/v3/job/result/$ID?format=tsv&header=true" | head -1)"
check "msgpack.gz rows" 50 "$(api "$B/v3/job/result/$ID?format=msgpack.gz" | gunzip | $PY -c 'import msgpack,sys; print(sum(1 for _ in msgpack.Unpacker(sys.stdin.buffer)))')"
check "msgpack rows" 50 "$(api "$B/v3/job/result/$ID?format=msgpack" | $PY -c 'import msgpack,sys; print(sum(1 for _ in msgpack.Unpacker(sys.stdin.buffer)))')"
check "msgpack gzip encoding" 50 "$(api --compressed "$B/v3/job/result/$ID?format=msgpack" | $PY -c 'import msgpack,sys; print(sum(1 for _ in msgpack.Unpacker(sys.stdin.buffer)))')"
SIZE=$(jget "$(api "$B/v3/job/show/$ID")" 'j["result_size"]')
check "result_size = msgpack.gz size" "$SIZE" "$(api "$B/v3/job/result/$ID?format=msgpack.gz" | wc -c | tr -d ' ')"

# --- Range / If-Range -----------------------------------------------------
api -D "$TMP/h" -o "$TMP/full" "$B/v3/job/result/$ID?format=msgpack.gz"
ETAG=$(grep -i '^etag:' "$TMP/h" | cut -d' ' -f2 | tr -d '\r')
check "range 206" 206 "$(code -H "Authorization: $KEY" -H 'Range: bytes=10-' "$B/v3/job/result/$ID?format=msgpack.gz")"
api -D "$TMP/h2" -o "$TMP/part" -H 'Range: bytes=10-' -H "If-Range: $ETAG" "$B/v3/job/result/$ID?format=msgpack.gz"
head -c 10 "$TMP/full" > "$TMP/joined"; cat "$TMP/part" >> "$TMP/joined"
check "resume bytes identical" "" "$(cmp "$TMP/full" "$TMP/joined")"
check "content-range" "bytes 10-$((SIZE - 1))/$SIZE" "$(grep -i '^content-range:' "$TMP/h2" | cut -d' ' -f2- | tr -d '\r')"
check "range N-M" 5 "$(api -H 'Range: bytes=0-4' "$B/v3/job/result/$ID?format=msgpack.gz" | wc -c | tr -d ' ')"
check "if-range mismatch -> 200" 200 "$(code -H "Authorization: $KEY" -H 'Range: bytes=10-' -H 'If-Range: "other"' "$B/v3/job/result/$ID?format=msgpack.gz")"
check "unsatisfiable -> 416" 416 "$(code -H "Authorization: $KEY" -H "Range: bytes=$SIZE-" "$B/v3/job/result/$ID?format=msgpack.gz")"

# --- faults --------------------------------------------------------------------
F="$B/__fake/faults"
curl -s -d '{"path":"^/v3/database/list$","status":503,"headers":{"Retry-After":"1"}}' -H 'Content-Type: application/json' "$F" >/dev/null
check "fault respond 503" 503 "$(code -H "Authorization: $KEY" "$B/v3/database/list")"
check "fault consumed" 200 "$(code -H "Authorization: $KEY" "$B/v3/database/list")"
curl -s -d '{"path":"database/list","action":"reset"}' -H 'Content-Type: application/json' "$F" >/dev/null
api "$B/v3/database/list" >/dev/null 2>&1; rc=$?
check "fault reset -> curl error (56 = recv failure)" 56 "$rc"
curl -s -d '{"path":"database/list","action":"close"}' -H 'Content-Type: application/json' "$F" >/dev/null
api "$B/v3/database/list" >/dev/null 2>&1; rc=$?
check "fault close -> curl error (52 = empty reply)" 52 "$rc"
curl -s -d '{"path":"job/result","action":"truncate","bytes":7}' -H 'Content-Type: application/json' "$F" >/dev/null
api -o "$TMP/t" "$B/v3/job/result/$ID?format=msgpack.gz" 2>/dev/null; rc=$?
check "fault truncate -> curl 18 (partial)" "18 7" "$rc $(wc -c < "$TMP/t" | tr -d ' ')"
curl -s -d '{"path":"job/result","action":"slow","chunk":100,"interval":0.01}' -H 'Content-Type: application/json' "$F" >/dev/null
check "fault slow still complete" "" "$(api "$B/v3/job/result/$ID?format=msgpack.gz" | cmp - "$TMP/full")"
curl -s -d '{"path":"account","action":"html","status":502}' -H 'Content-Type: application/json' "$F" >/dev/null
check "fault html" "502 text/html" "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' -H "Authorization: $KEY" "$B/v3/account/show")"
curl -s -d '{"path":"account","action":"badjson"}' -H 'Content-Type: application/json' "$F" >/dev/null
R=$(api "$B/v3/account/show")
printf '%s' "$R" | $PY -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; rc=$?
check "fault badjson unparsable" 1 "$rc"
curl -s -d '[{"path":"account","delay":0.3,"times":2}]' -H 'Content-Type: application/json' "$F" >/dev/null
T=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: $KEY" "$B/v3/account/show")
check "fault delay" 1 "$($PY -c "print(int($T >= 0.3))")"
curl -s -X DELETE "$F" >/dev/null
T=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: $KEY" "$B/v3/account/show")
check "faults cleared" 1 "$($PY -c "print(int($T < 0.3))")"

# --- log, config, reset ------------------------------------------------------------
L=$(curl -s "$B/__fake/log")
check "log has auth header" "$KEY" "$(jget "$L" '[e for e in j if e["path"]=="/v3/account/show"][0]["headers"]["authorization"]')"
check "log has form" "SELECT 1" "$(jget "$L" '[e for e in j if e.get("form",{}).get("domain_key")=="dk1"][0]["form"]["query"]')"
curl -s -H 'Content-Type: application/json' -d '{"queued_polls":0,"running_polls":0}' "$B/__fake/config" >/dev/null
Q=$(jget "$(api -d 'query=SELECT 7' "$B/v3/job/issue/trino/web")" 'j["job_id"]')
check "zero-poll config" success "$(jget "$(api "$B/v3/job/status/$Q")" 'j["status"]')"
check "SELECT 7 result" "[7]" "$(api "$B/v3/job/result/$Q?format=json")"
curl -s -X POST "$B/__fake/reset" >/dev/null
check "reset" 25 "$(jget "$(curl -s "$B/__fake/state")" 'j["v3"]["jobs"]')"
check "reset clears log" 0 "$(jget "$(curl -s "$B/__fake/log")" 'len(j)')"

echo
if [ $FAILS -eq 0 ]; then echo "all checks passed"; else echo "$FAILS check(s) failed"; fi
[ $FAILS -eq 0 ]
