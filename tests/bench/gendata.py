#!/usr/bin/env python3
"""gendata.py ROWS OUT.msgpack.gz [SEED] - the reference result dataset.

Rows as TD writes a query result (msgpack arrays, gzip): int64 `time`, a
small int, a 2-decimal double, a `user_N` string, a 2-letter code, an int or
nil, a 40-char hex string, a double in [0, 1). Deterministic for a seed.
Prints the row count and the sum of column 2 (a checksum the benchmark
checks its readers against)."""
import gzip
import os
import random
import sys

import msgpack


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    codes = ["us", "jp", "de", "fr", "gb", "br", "in", "cn", "kr", "ca"]
    pk = msgpack.Packer(use_bin_type=False)
    total = 0
    tmp = out + ".tmp"
    with gzip.open(tmp, "wb", compresslevel=6) as f:
        buf = []
        for i in range(n):
            small = rnd.randrange(0, 1000)
            total += small
            row = [
                1700000000 + i,
                small,
                round(rnd.random() * 10000, 2),
                "user_%d" % rnd.randrange(0, 1000000),
                codes[rnd.randrange(0, len(codes))],
                None if rnd.random() < 0.2 else rnd.randrange(-(2 ** 40), 2 ** 40),
                "%040x" % rnd.getrandbits(160),
                rnd.random(),
            ]
            buf.append(pk.pack(row))
            if len(buf) >= 8192:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    os.rename(tmp, out)
    print(n, total)


if __name__ == "__main__":
    main()
