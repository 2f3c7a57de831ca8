#!/bin/sh
# Smoke test of the fake Treasure Workflow API (/api/...) with curl: starts an
# instance on a free port, checks the seeded data, paging, the attempt life
# cycle, failure directives, retry with resume, kill, logs (direct and API),
# project push/archive, schedules, secrets and pools, then stops it.
# Usage: tests/fake_td/selfcheck_workflow.sh        (exit status 0 = all good)
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
JS='Content-Type: application/json'
FAILS=0

ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s: %s\n' "$1" "$2"; FAILS=$((FAILS + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected [$2] got [$3]"; fi; }
jget() { printf '%s' "$1" | $PY -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
api() { curl -s -H "Authorization: $KEY" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
acode() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $KEY" "$@"; }
start() { api -X PUT -H "$JS" -d "$1" "$B/api/attempts"; }
status() { jget "$(api "$B/api/attempts/$1")" 'j["status"]'; }

# --- auth, version -------------------------------------------------------------
check "version without key" 200 "$(code "$B/api/version")"
check "no key -> 401" 401 "$(code "$B/api/projects")"
check "query_only push -> 403" 403 "$(code -X PUT -H "Authorization: $QKEY" --data-binary x "$B/api/projects?project=p&revision=r")"

# --- seeded browse ----------------------------------------------------------------
P=$(api "$B/api/projects")
check "projects" "etl:1:r2 marketing:2:v1" "$(jget "$P" '" ".join("%s:%s:%s" % (p["name"], p["id"], p["revision"]) for p in j["projects"])')"
check "project name filter" 1 "$(jget "$(api "$B/api/projects?name=etl")" 'len(j["projects"])')"
check "project name_pattern" marketing "$(jget "$(api "$B/api/projects?name_pattern=rket")" 'j["projects"][0]["name"]')"
check "revisions newest first" "r2,r1" "$(jget "$(api "$B/api/projects/1/revisions")" '",".join(r["revision"] for r in j["revisions"])')"
check "workflows of etl" "daily:4,hourly:5" "$(jget "$(api "$B/api/projects/1/workflows")" '",".join("%s:%s" % (w["name"], w["id"]) for w in j["workflows"])')"
check "old revision workflows" "daily:1,hourly:2" "$(jget "$(api "$B/api/projects/1/workflows?revision=r1")" '",".join("%s:%s" % (w["name"], w["id"]) for w in j["workflows"])')"
check "workflows desc" "5,4,3" "$(jget "$(api "$B/api/workflows?order=desc")" '",".join(w["id"] for w in j["workflows"])')"
check "bad order -> 400" 400 "$(acode "$B/api/workflows?order=up")"
check "schedules" "1:daily:2026-11-23T02:00:00Z 2:hourly:2026-11-22T10:05:00Z" "$(jget "$(api "$B/api/schedules")" '" ".join("%s:%s:%s" % (s["id"], s["workflow"]["name"], s["nextRunTime"]) for s in j["schedules"])')"
check "sessions newest first, paged" "11,10" "$(jget "$(api "$B/api/sessions?page_size=2")" '",".join(s["id"] for s in j["sessions"])')"
check "sessions last_id" "9,8" "$(jget "$(api "$B/api/sessions?page_size=2&last_id=10")" '",".join(s["id"] for s in j["sessions"])')"
check "page_size > 100 -> 400" 400 "$(acode "$B/api/sessions?page_size=101")"
check "error body shape" "400 True" "$(jget "$(api "$B/api/attempts?page_size=101")" '"%s %s" % (j["status"], "message" in j)')"
A=$(api "$B/api/attempts?project=etl&workflow=daily")
check "last attempts only" "7:error,5:success,2:success,1:success" "$(jget "$A" '",".join("%s:%s" % (a["id"], a["status"]) for a in j["attempts"])')"
check "include_retried" "7,5,4,2,1" "$(jget "$(api "$B/api/attempts?project=etl&workflow=daily&include_retried=true")" '",".join(a["id"] for a in j["attempts"])')"
check "unknown project -> 404" 404 "$(acode "$B/api/attempts?project=nope")"
check "failed in last day" "7,9" "$(jget "$(api "$B/api/attempts")" '",".join(a["id"] for a in reversed(j["attempts"]) if a["status"] == "error" and a["createdAt"] >= "2026-11-21T10:00:00Z")')"
check "retries" "4:1,5:2" "$(jget "$(api "$B/api/attempts/5/retries")" '",".join("%s:%s" % (a["id"], a["index"]) for a in j["attempts"])')"
check "non-numeric id -> bare 404" "404 0" "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Authorization: $KEY" "$B/api/attempts/abc")"
check "unknown attempt" "Resource does not exist: session attempt id=999" "$(jget "$(api "$B/api/attempts/999")" 'j["message"]')"

# --- life cycle ------------------------------------------------------------------
R=$(start '{"workflowId":"4","sessionTime":"2026-11-23T00:00:00+00:00","params":{}}')
ID=$(jget "$R" 'j["id"]')
S="$(jget "$R" 'j["status"]')"
for n in 1 2 3 4; do S="$S $(status "$ID")"; done
check "attempt polls" "running running running running success" "$S"
check "success flags" "True True False" "$(jget "$(api "$B/api/attempts/$ID")" '"%s %s %s" % (j["done"], j["success"], j["cancelRequested"])')"
check "duplicate -> 409 with attempt" "409" "$(code -X PUT -H "Authorization: $KEY" -H "$JS" -d '{"workflowId":"4","sessionTime":"2026-11-23T00:00:00Z","params":{}}' "$B/api/attempts")"
check "409 body is the attempt" "$ID" "$(jget "$(start '{"workflowId":"4","sessionTime":"2026-11-23T00:00:00Z","params":{}}')" 'j["id"]')"
check "params required" 400 "$(acode -X PUT -H "$JS" -d '{"workflowId":"4","sessionTime":"2026-11-23T00:00:00Z"}' "$B/api/attempts")"

R=$(start '{"projectName":"etl","workflowName":"daily","sessionTime":"2026-11-24T00:00:00Z","params":{"fake_fail_attempts":1}}')
F=$(jget "$R" 'j["id"]')
for n in 1 2 3 4; do api "$B/api/attempts/$F" >/dev/null; done
check "fake_fail_attempts -> error" "error True False" "$(jget "$(api "$B/api/attempts/$F")" '"%s %s %s" % (j["status"], j["done"], j["success"])')"
check "failed task" "+daily+load:error" "$(jget "$(api "$B/api/attempts/$F/tasks")" '",".join("%s:%s" % (t["fullName"], t["state"]) for t in j["tasks"] if t["state"] == "error")')"
R=$(start "{\"workflowId\":\"4\",\"sessionTime\":\"2026-11-24T00:00:00Z\",\"params\":{\"fake_fail_attempts\":1},\"retryAttemptName\":\"r1\",\"resume\":{\"mode\":\"failed\",\"attemptId\":\"$F\"}}")
RT=$(jget "$R" 'j["id"]')
check "retry index" 2 "$(jget "$R" 'j["index"]')"
S=""; for n in 1 2; do S="$S $(status "$RT")"; done
check "resume failed runs only the failed task" " running success" "$S"
check "resume of success -> 400" 400 "$(acode -X PUT -H "$JS" -d "{\"workflowId\":\"4\",\"sessionTime\":\"2026-11-24T00:00:00Z\",\"params\":{},\"retryAttemptName\":\"r2\",\"resume\":{\"mode\":\"failed\",\"attemptId\":\"$RT\"}}" "$B/api/attempts")"
check "retry seeded failure (resume from)" 200 "$(acode -X PUT -H "$JS" -d '{"workflowId":"4","sessionTime":"2026-11-22T00:00:00Z","params":{},"retryAttemptName":"fix","resume":{"mode":"from","attemptId":"7","from":"+transform"}}' "$B/api/attempts")"

R=$(start '{"workflowId":"3","sessionTime":"2026-11-24T00:00:00+09:00","params":{"fake_stuck":true}}')
K=$(jget "$R" 'j["id"]')
for n in 1 2 3 4 5 6; do api "$B/api/attempts/$K" >/dev/null; done
check "fake_stuck stays running" running "$(status "$K")"
check "kill returns attempt before" "running False" "$(jget "$(api -X POST -H "$JS" -d '{}' "$B/api/attempts/$K/kill")" '"%s %s" % (j["status"], j["cancelRequested"])')"
check "kill twice -> 409" 409 "$(acode -X POST -H "$JS" -d '{}' "$B/api/attempts/$K/kill")"
S=""; for n in 1 2; do S="$S $(status "$K")"; done
check "canceling then killed" " canceling killed" "$S"
check "kill finished -> 409" 409 "$(acode -X POST -H "$JS" -d '{}' "$B/api/attempts/1/kill")"

# --- logs ------------------------------------------------------------------------
L=$(api "$B/api/logs/7/files?task=%2Bdaily%2Btransform")
check "log files filter" "+daily+transform" "$(jget "$L" '",".join(f["taskName"] for f in j["files"])')"
FN=$(jget "$L" 'j["files"][0]["fileName"]')
DIRECT=$(jget "$L" 'j["files"][0]["direct"]')
check "log via API" "[ERROR]" "$(api "$B/api/logs/7/files/$FN" | gunzip | grep -o '\[ERROR\]')"
check "log via direct (no key)" "[ERROR]" "$(curl -s "$DIRECT" | gunzip | grep -o '\[ERROR\]')"
check "direct with TD key -> 400" 400 "$(acode "$DIRECT")"
check "direct_download=false" False "$(jget "$(api "$B/api/logs/7/files?direct_download=false")" '"direct" in j["files"][0]')"

# --- push, archive ---------------------------------------------------------------
mkdir -p "$TMP/proj"
printf 'timezone: Asia/Tokyo\nschedule:\n  daily>: 07:00:00\n+a:\n  echo>: hi\n+b:\n  fail>: boom\n' > "$TMP/proj/main.dig"
(cd "$TMP/proj" && tar czf "$TMP/p.tgz" main.dig)
R=$(api -X PUT -H 'Content-Type: application/gzip' --data-binary @"$TMP/p.tgz" "$B/api/projects?project=newp&revision=v1")
PID=$(jget "$R" 'j["id"]')
check "push" "newp v1" "$(jget "$R" 'j["name"] + " " + j["revision"]')"
check "push dup revision -> 409" 409 "$(acode -X PUT -H 'Content-Type: application/gzip' --data-binary @"$TMP/p.tgz" "$B/api/projects?project=newp&revision=v1")"
check "push not gzip -> 400" 400 "$(acode -X PUT -H 'Content-Type: application/gzip' --data-binary 'x' "$B/api/projects?project=newp&revision=v2")"
check "pushed schedule" "2026-11-22T22:00:00Z" "$(jget "$(api "$B/api/projects/$PID/schedules")" 'j["schedules"][0]["nextRunTime"]')"
WID=$(jget "$(api "$B/api/projects/$PID/workflows/main")" 'j["id"]')
R=$(start "{\"workflowId\":\"$WID\",\"sessionTime\":\"2026-11-22T00:00:00+09:00\",\"params\":{}}")
X=$(jget "$R" 'j["id"]'); for n in 1 2 3; do api "$B/api/attempts/$X" >/dev/null; done
check "fail> task fails" "error boom" "$(jget "$(api "$B/api/attempts/$X/tasks")" '[t["state"] + " " + t["error"]["message"] for t in j["tasks"] if t["fullName"] == "+main+b"][0]')"
check "archive -> 303" 303 "$(acode "$B/api/projects/$PID/archive")"
LOC=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Authorization: $KEY" "$B/api/projects/$PID/archive")
check "archive direct bytes" "" "$(curl -s "$LOC" | cmp - "$TMP/p.tgz")"
check "archive inline" "" "$(api "$B/api/projects/$PID/archive?direct_download=false" | cmp - "$TMP/p.tgz")"
check "delete project" 200 "$(acode -X DELETE "$B/api/projects/$PID")"
check "deleted -> 404" 404 "$(acode "$B/api/projects/$PID")"

# --- schedules --------------------------------------------------------------------
PO() { api -X POST -H "$JS" -d "$2" "$B/api/schedules/$1"; }
check "disable" True "$(jget "$(PO 1/disable '{}')" 'j["disabledAt"] is not None')"
check "enable" None "$(jget "$(PO 1/enable '{}')" 'j["disabledAt"]')"
check "skip to past -> 409" 409 "$(acode -X POST -H "$JS" -d '{"nextTime":"2026-11-20T00:00:00+00:00","dryRun":false}' "$B/api/schedules/1/skip")"
check "skip by count" "2026-11-25T00:00:00+00:00" "$(jget "$(PO 1/skip '{"fromTime":"2026-11-23T00:00:00Z","count":2,"dryRun":false}')" 'j["nextScheduleTime"]')"
check "backfill too many -> 400" 400 "$(acode -X POST -H "$JS" -d '{"fromTime":"2026-11-01T00:00:00Z","attemptName":"bf","count":99,"dryRun":false}' "$B/api/schedules/1/backfill")"
check "backfill dry run" "0,0" "$(jget "$(PO 1/backfill '{"fromTime":"2026-11-23T00:00:00Z","attemptName":"bf","dryRun":true}')" '",".join(a["id"] for a in j["attempts"])')"
check "backfill" 2 "$(jget "$(PO 1/backfill '{"fromTime":"2026-11-23T00:00:00Z","attemptName":"bf","dryRun":false}')" 'len(j["attempts"])')"
check "backfill again -> 409" 409 "$(acode -X POST -H "$JS" -d '{"fromTime":"2026-11-23T00:00:00Z","attemptName":"bf","dryRun":false}' "$B/api/schedules/1/backfill")"

# --- secrets, pools ------------------------------------------------------------------
check "secret put 204" 204 "$(acode -X PUT -H "$JS" -d '{"value":"s3cr3t"}' "$B/api/projects/2/secrets/api.token")"
check "secret keys" "api.token,slack.webhook" "$(jget "$(api "$B/api/projects/2/secrets")" '",".join(s["key"] for s in j["secrets"])')"
check "secret delete 204" 204 "$(acode -X DELETE "$B/api/projects/2/secrets/api.token")"
check "pool create 201" 201 "$(acode -X POST -H "$JS" -d '{"name":"p1","concurrencyLimit":3}' "$B/api/pools")"
check "pool dup -> 409" 409 "$(acode -X POST -H "$JS" -d '{"name":"p1","concurrencyLimit":3}' "$B/api/pools")"

# --- config, reset --------------------------------------------------------------------
curl -s -H "$JS" -d '{"wf_task_polls":2,"wf_queued_polls":1}' "$B/__fake/config" >/dev/null
R=$(start '{"workflowId":"5","sessionTime":"2026-11-30T00:00:00Z","params":{}}')
Q=$(jget "$R" 'j["id"]'); S="$(jget "$R" 'j["status"]')"
for n in 1 2 3 4 5 6; do S="$S $(status "$Q")"; done
check "wf_queued_polls/wf_task_polls" "queued queued running running running running success" "$S"
curl -s -X POST "$B/__fake/reset" >/dev/null
check "reset" "12" "$(jget "$(curl -s "$B/__fake/state")" 'j["workflow"]["attempts"]')"

echo
if [ $FAILS -eq 0 ]; then echo "all checks passed"; else echo "$FAILS check(s) failed"; fi
[ $FAILS -eq 0 ]
