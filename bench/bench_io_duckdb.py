#!/usr/bin/env python3
"""The DuckDB peer of bench_io_ndjson: reads JSONL files with read_ndjson
into a table (every column materialised, as weir's reader builds blocks of
every column) on THREADS threads, and prints one JSON line with the rows,
the wall time and the user and system CPU time of the read alone.

Usage: bench_io_duckdb.py GLOB THREADS
"""
import json
import resource
import sys
import time

import duckdb


def main():
    pattern, threads = sys.argv[1], int(sys.argv[2])
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    con.execute(
        "CREATE TEMP TABLE t AS SELECT * FROM read_ndjson(?, format = 'newline_delimited')",
        [pattern])
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"rows": rows, "wall": wall,
                      "user": r1.ru_utime - r0.ru_utime,
                      "sys": r1.ru_stime - r0.ru_stime}))


if __name__ == "__main__":
    main()
