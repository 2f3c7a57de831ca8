#!/usr/bin/env python3
"""flip.py DIR FIRST LAST MIN MAX SEED - the jobs of the many-waits benchmark.

Writes DIR/v3/job/status/<id> ("running") and DIR/v3/job/show/<id> for jobs
FIRST..LAST, prints "ready", then on a line from stdin starts the clock:
job <id> turns "success" after its duration (uniform in [MIN, MAX] seconds;
job FIRST takes exactly MAX, so the longest job is known). nginx serves the
files; each is replaced atomically."""
import json
import os
import random
import sys
import time


def write(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def main():
    d, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lo, hi, seed = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    rnd = random.Random(seed)
    os.makedirs(os.path.join(d, "v3/job/status"), exist_ok=True)
    os.makedirs(os.path.join(d, "v3/job/show"), exist_ok=True)
    due = []
    for i in range(first, last + 1):
        base = {"job_id": str(i), "type": "presto", "database": "bench", "num_records": 0,
                "result_size": 0}
        write(os.path.join(d, "v3/job/status", str(i)), dict(base, status="running"))
        write(os.path.join(d, "v3/job/show", str(i)),
              dict(base, status="success", hive_result_schema="[]"))
        due.append((hi if i == first else rnd.uniform(lo, hi), i))
    due.sort()
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    for at, i in due:
        wait = t0 + at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        write(os.path.join(d, "v3/job/status", str(i)),
              {"job_id": str(i), "status": "success", "num_records": 0, "result_size": 0})
    print("done", flush=True)


if __name__ == "__main__":
    main()
