"""The peers of bench_parquet: makes the FineWeb-like file, and times
pyarrow's and DuckDB's reading and pyarrow's writing of it, with 2 threads.

  bench_parquet.py gen FILE MB
  bench_parquet.py read FILE            -> "pyarrow_read S" "duckdb_read S"
  bench_parquet.py write FILE OUT       -> "pyarrow_write S BYTES"
  bench_parquet.py colbytes FILE COLS   -> compressed bytes of those columns"""
import os
import random
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

WORDS = None


def gen(path, mb):
    rnd = random.Random(7)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
             for _ in range(20000)]
    target = mb << 20
    written = 0
    writer = None
    row = 0
    while written < target:
        n = 2000
        texts, ids, urls, scores, toks = [], [], [], [], []
        for i in range(n):
            k = rnd.randint(100, 900)
            t = " ".join(rnd.choices(words, k=k))
            texts.append(t)
            ids.append("<urn:uuid:%032x>" % rnd.getrandbits(128))
            urls.append("https://www.example%d.com/%s/%s" % (rnd.randint(0, 5000), rnd.choice(words), rnd.choice(words)))
            scores.append(rnd.random())
            toks.append([rnd.randint(0, 50000) for _ in range(k // 2)])
            written += len(t) + 2 * k
        tb = pa.table({"text": texts, "id": ids, "url": urls,
                       "score": pa.array(scores, pa.float64()),
                       "token_ids": pa.array(toks, pa.list_(pa.int32()))})
        if writer is None:
            writer = pq.ParquetWriter(path, tb.schema, compression="zstd")
        writer.write_table(tb, row_group_size=50000)
        row += n
    writer.close()
    print("rows %d bytes %d" % (row, os.path.getsize(path)))


def read(path):
    pa.set_cpu_count(2)
    pa.set_io_thread_count(2)
    t0 = time.perf_counter()
    t = pq.read_table(path, use_threads=True)
    t1 = time.perf_counter()
    print("pyarrow_read %.3f rows %d" % (t1 - t0, t.num_rows))
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads=2")
    t0 = time.perf_counter()
    r = con.sql("select count(text), sum(length(text)), count(id), count(url), sum(score), "
                "sum(len(token_ids)) from read_parquet('%s')" % path).fetchall()
    t1 = time.perf_counter()
    print("duckdb_read %.3f rows %d" % (t1 - t0, r[0][0]))


def write(path, out):
    pa.set_cpu_count(2)
    t = pq.read_table(path)
    t0 = time.perf_counter()
    pq.write_table(t, out, compression="zstd")
    t1 = time.perf_counter()
    print("pyarrow_write %.3f bytes %d" % (t1 - t0, os.path.getsize(out)))


def colbytes(path, cols):
    md = pq.ParquetFile(path).metadata
    want = set(cols.split(","))
    total = 0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c in range(rg.num_columns):
            cc = rg.column(c)
            if cc.path_in_schema.split(".")[0] in want:
                total += cc.total_compressed_size
    print("colbytes %d" % total)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    elif cmd == "read":
        read(sys.argv[2])
    elif cmd == "write":
        write(sys.argv[2], sys.argv[3])
    elif cmd == "colbytes":
        colbytes(sys.argv[2], sys.argv[3])
