"""The rows weir_dedup_exact's priority mode must keep, by DuckDB:
ROW_NUMBER() OVER (PARTITION BY key ORDER BY priority DESC NULLS LAST, i) = 1
(ASC for the lowest; VARCHAR priorities compare bytewise). Writes the kept rows' `i`, ascending, one a line.

    dedup_priority_ref.py INPUT.jsonl KEY PRIORITY desc|asc OUT
"""
import sys

import duckdb

src, key, prio, order, out = sys.argv[1:6]
assert order in ("desc", "asc")
con = duckdb.connect()
rows = con.execute(
    f"""
    SELECT i FROM (
      SELECT i, ROW_NUMBER() OVER (PARTITION BY {key}
                                   ORDER BY {prio} {order} NULLS LAST, i) AS rn
      FROM read_json(?, format='newline_delimited',
                     columns={{'i': 'BIGINT', 'k': 'VARCHAR', 'p': 'BIGINT', 'f': 'DOUBLE',
                              's': 'VARCHAR'}})
    ) WHERE rn = 1 ORDER BY i
    """,
    [src],
).fetchall()
with open(out, "w") as f:
    for (i,) in rows:
        f.write(f"{i}\n")
