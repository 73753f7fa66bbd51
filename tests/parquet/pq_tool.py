"""The reference side of weir's Parquet tests: pyarrow writes the files
weir reads, and pyarrow and DuckDB read back the files weir writes.

  pq_tool.py make DIR          write the fixture files into DIR
  pq_tool.py compare JSONL PARQUET
                               rows weir read (written by weir as JSONL)
                               equal pyarrow's, value for value
  pq_tool.py check WEIR_PARQUET EXPECTED_JSONL
                               a file weir wrote: pyarrow and DuckDB read
                               the expected rows; statistics are right
  pq_tool.py hive_compare JSONL DIR [COLUMNS [YEAR]]
                               rows weir read from the hive-partitioned
                               tree DIR equal pyarrow.dataset's reading of
                               it (partitioning="hive"), optionally only
                               COLUMNS ("-" = all) and rows of year YEAR
  pq_tool.py huge PARQUET MIB  write ONE row group of about MIB MiB of
                               decoded data (int64 `id`, 4 KiB strings
                               `text`, list<int32> `tok` of 64) that ZSTD
                               makes small on disk; print its row count
  pq_tool.py groups PARQUET    write a ZSTD file of 2 row groups (int64 `id`,
                               string `s` with nulls) and print, per row
                               group, from the data written: "ROWS ID_MIN
                               ID_MAX S_NULLS S_MIN S_MAX"
Exit status 0 when equal; otherwise the first difference is printed."""
import base64
import datetime
import decimal
import json
import math
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

N = 1000


def table(n=N, seed=0):
    def nul(i, k=7):
        return (i + seed) % k == 3
    ts = [None if nul(i) else 1_600_000_000_000 + i * 1234 for i in range(n)]
    cols = {
        "b": pa.array([None if nul(i) else i % 3 == 0 for i in range(n)], pa.bool_()),
        "i8": pa.array([None if nul(i) else (i % 250) - 125 for i in range(n)], pa.int8()),
        "i16": pa.array([None if nul(i) else i * 7 - 3000 for i in range(n)], pa.int16()),
        "i32": pa.array([None if nul(i) else i * 100003 - 5 for i in range(n)], pa.int32()),
        "i64": pa.array([None if nul(i) else (i - 500) * 10_000_000_019 for i in range(n)], pa.int64()),
        "u8": pa.array([None if nul(i) else i % 256 for i in range(n)], pa.uint8()),
        "u16": pa.array([None if nul(i) else i * 60 % 65536 for i in range(n)], pa.uint16()),
        "u32": pa.array([None if nul(i) else 4_000_000_000 - i for i in range(n)], pa.uint32()),
        "u64": pa.array([None if nul(i) else i * 1_000_000_007 for i in range(n)], pa.uint64()),
        "f32": pa.array([None if nul(i) else i / 8 - 3.25 for i in range(n)], pa.float32()),
        "f64": pa.array([None if nul(i) else math.sin(i) * 1e6 for i in range(n)], pa.float64()),
        "s": pa.array([None if nul(i) else ("row %d " % i) * (i % 5) + "é" * (i % 3) for i in range(n)], pa.string()),
        "cat": pa.array([None if nul(i) else ["en", "fr", "de"][i % 3] for i in range(n)], pa.string()),
        "bin": pa.array([None if nul(i) else bytes([i % 256]) * (i % 4) for i in range(n)], pa.binary()),
        "fixed": pa.array([None if nul(i) else (i * 2654435761 % 2**32).to_bytes(4, "little") for i in range(n)], pa.binary(4)),
        "dec": pa.array([None if nul(i) else decimal.Decimal(i * 37 - 1000) / 100 for i in range(n)], pa.decimal128(10, 2)),
        "date": pa.array([None if nul(i) else 18000 + i for i in range(n)], pa.date32()),
        "ts_ms": pa.array(ts, pa.timestamp("ms")),
        "ts_us": pa.array(ts, pa.timestamp("us")),
        "t_ms": pa.array([None if nul(i) else i * 1000 for i in range(n)], pa.time32("ms")),
        "t_us": pa.array([None if nul(i) else i * 1_000_000 for i in range(n)], pa.time64("us")),
        "tok": pa.array([None if nul(i, 11) else list(range(i % 6)) for i in range(n)], pa.list_(pa.int32())),
        "emb": pa.array([None if nul(i, 13) else [i / 3, -i / 7] * (i % 3) for i in range(n)], pa.list_(pa.float64())),
        "big": pa.array([[i * 10**12, -i] if i % 4 else [] for i in range(n)], pa.large_list(pa.int64())),
        "small": pa.array([[i % 100, -(i % 100)] for i in range(n)], pa.list_(pa.int8())),
        "req": pa.array(list(range(n)), pa.int64()),
    }
    schema = pa.schema([pa.field(k, v.type, nullable=(k != "req")) for k, v in cols.items()])
    return pa.Table.from_arrays(list(cols.values()), schema=schema)


def make(d):
    os.makedirs(d, exist_ok=True)
    t = table()
    codecs = ["NONE", "SNAPPY", "GZIP", "ZSTD", "LZ4", "BROTLI"]
    for codec in codecs:
        for ver in ["1.0", "2.0"]:
            for dic in [True, False]:
                name = "c_%s_v%s_%s.parquet" % (codec.lower(), ver[0], "dict" if dic else "plain")
                pq.write_table(t, os.path.join(d, name), compression=codec,
                               data_page_version=ver, use_dictionary=dic, row_group_size=300,
                               data_page_size=2048)
    # The other encodings, column by column.
    enc = {"i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED",
           "s": "DELTA_LENGTH_BYTE_ARRAY", "cat": "DELTA_BYTE_ARRAY",
           "bin": "DELTA_BYTE_ARRAY", "f32": "BYTE_STREAM_SPLIT", "f64": "BYTE_STREAM_SPLIT",
           "tok": "DELTA_BINARY_PACKED"}
    for ver in ["1.0", "2.0"]:
        pq.write_table(t, os.path.join(d, "enc_v%s.parquet" % ver[0]), use_dictionary=False,
                       column_encoding=enc, data_page_version=ver, compression="ZSTD",
                       data_page_size=1024, row_group_size=400)
    # INT96 timestamps, one-row row groups, one big row group.
    pq.write_table(t.select(["ts_us", "i32"]), os.path.join(d, "int96.parquet"),
                   use_deprecated_int96_timestamps=True)
    pq.write_table(t.slice(0, 50), os.path.join(d, "rg1.parquet"), row_group_size=1)
    big = pa.table({"id": pa.array(range(1_000_000), pa.int64()),
                    "x": pa.array([i % 1000 / 4 for i in range(1_000_000)], pa.float32())})
    pq.write_table(big, os.path.join(d, "big.parquet"), row_group_size=1_000_000)
    # Statistics for the filter: score rises with the row group.
    ft = pa.table({"score": pa.array([i / N for i in range(N)], pa.float64()),
                   "lang": pa.array([["en", "fr"][(i // 100) % 2] for i in range(N)]),
                   "id": pa.array(range(N), pa.int64())})
    pq.write_table(ft, os.path.join(d, "filter.parquet"), row_group_size=100)
    # A struct column and a list of strings: refused with ENOTSUP.
    st = pa.table({"id": [1, 2], "st": pa.array([{"a": 1}, {"a": 2}]),
                   "ls": pa.array([["x"], ["y", "z"]])})
    pq.write_table(st, os.path.join(d, "nested.parquet"))
    # Two files of a dataset, and one with other columns.
    os.makedirs(os.path.join(d, "ds"), exist_ok=True)
    pq.write_table(table(100, 1), os.path.join(d, "ds", "a.parquet"))
    pq.write_table(table(100, 2), os.path.join(d, "ds", "b.parquet"))
    with open(os.path.join(d, "ds", "_SUCCESS"), "w"):
        pass
    make_hive(os.path.join(d, "hive"))
    make_types(d)
    # The page index (column and offset indexes between the row groups and
    # the footer), with small pages, and the filter file's data with it.
    pq.write_table(t, os.path.join(d, "pageidx.parquet"), write_page_index=True,
                   data_page_size=512, row_group_size=400, compression="ZSTD")
    pq.write_table(ft, os.path.join(d, "filter_pageidx.parquet"), write_page_index=True,
                   data_page_size=256, row_group_size=100)
    os.makedirs(os.path.join(d, "mixed"), exist_ok=True)
    pq.write_table(table(10), os.path.join(d, "mixed", "a.parquet"))
    pq.write_table(table(10).rename_columns(["x%d" % i for i in range(len(table(10).schema))]),
                   os.path.join(d, "mixed", "b.parquet"))


def make_types(d):
    """Timestamps of each unit, with and without a time zone (UTC-adjusted),
    times, dates, decimals of each physical type, and lists of strings and
    of booleans (nulls, empty lists, null elements)."""
    n = 500
    def nul(i, k=7):
        return i % k == 3
    ts = [None if nul(i) else 1_700_000_000_000_000_000 + i * 1_234_567_891 for i in range(n)]
    cols = {
        "ts_ns": pa.array(ts, pa.timestamp("ns")),
        "ts_ns_utc": pa.array(ts, pa.timestamp("ns", tz="UTC")),
        "ts_us_utc": pa.array([None if v is None else v // 1000 for v in ts], pa.timestamp("us", tz="UTC")),
        "ts_ms_paris": pa.array([None if v is None else v // 1_000_000 for v in ts], pa.timestamp("ms", tz="Europe/Paris")),
        "ts_s": pa.array([None if v is None else v // 1_000_000_000 for v in ts], pa.timestamp("s")),
        "date": pa.array([None if nul(i) else -1000 + i * 37 for i in range(n)], pa.date32()),
        "t32_s": pa.array([None if nul(i) else i * 97 % 86400 for i in range(n)], pa.time32("s")),
        "t32_ms": pa.array([None if nul(i) else i * 97_001 % 86_400_000 for i in range(n)], pa.time32("ms")),
        "t64_us": pa.array([None if nul(i) else i * 97_000_013 % 86_400_000_000 for i in range(n)], pa.time64("us")),
        "t64_ns": pa.array([None if nul(i) else i * 97_000_000_013 % 86_400_000_000_000 for i in range(n)], pa.time64("ns")),
        "dec5": pa.array([None if nul(i) else decimal.Decimal(i * 7 - 1700) / 100 for i in range(n)], pa.decimal128(5, 2)),
        "dec18": pa.array([None if nul(i) else decimal.Decimal(i * 1_000_003 - 10**9) / 10**4 for i in range(n)], pa.decimal128(18, 4)),
        "dec38": pa.array([None if nul(i) else decimal.Decimal((i - 250) * 10**20 + i) / 10**10 for i in range(n)], pa.decimal128(38, 10)),
        "ls": pa.array([None if nul(i, 11) else [None if (i + j) % 5 == 2 else 'w"%d\\ é\n' % (i * j) for j in range(i % 4)] for i in range(n)], pa.list_(pa.string())),
        "lb": pa.array([None if nul(i, 13) else [None if (i + j) % 6 == 1 else (i + j) % 3 == 0 for j in range(i % 5)] for i in range(n)], pa.list_(pa.bool_())),
        "lls": pa.array([[["en", "fr", "de"][(i + j) % 3] for j in range(i % 3)] for i in range(n)], pa.large_list(pa.string())),
    }
    t = pa.table(cols)
    for ver in ["1.0", "2.0"]:
        for dic in [True, False]:
            pq.write_table(t, os.path.join(d, "types_v%s_%s.parquet" % (ver[0], "dict" if dic else "plain")),
                           data_page_version=ver, use_dictionary=dic, row_group_size=200,
                           data_page_size=1024, store_decimal_as_integer=True)


def make_hive(d):
    """A hive-partitioned tree: an integer key `year` (one folder null), a
    string key `lang` (one value %-encoded), several files in a folder."""
    parts = [("year=2023/lang=en", 2), ("year=2023/lang=fr%20b", 1), ("year=2024/lang=en", 2),
             ("year=2024/lang=de", 1), ("year=__HIVE_DEFAULT_PARTITION__/lang=en", 1)]
    next_id = 0
    for folder, files in parts:
        os.makedirs(os.path.join(d, folder), exist_ok=True)
        for k in range(files):
            n = 7 + k
            t = pa.table({"id": pa.array(range(next_id, next_id + n), pa.int64()),
                          "s": pa.array(["r%d" % (next_id + i) if i % 3 else None for i in range(n)])})
            pq.write_table(t, os.path.join(d, folder, "part-%d.parquet" % k))
            next_id += n
    with open(os.path.join(d, "_SUCCESS"), "w"):
        pass
    # A file whose column is also a key of its folder.
    os.makedirs(os.path.join(d + "_conflict", "year=1"), exist_ok=True)
    pq.write_table(pa.table({"year": [5], "id": [0]}), os.path.join(d + "_conflict", "year=1", "a.parquet"))


def hive_compare(jsonl, folder, columns=None, year=None):
    import pyarrow.dataset as ds
    d = ds.dataset(folder, format="parquet", partitioning="hive")
    cols = columns.split(",") if columns and columns != "-" else None
    flt = (ds.field("year") == int(year)) if year is not None else None
    t = d.to_table(columns=cols, filter=flt)
    rows = [json.loads(line) for line in open(jsonl)]
    if len(rows) != t.num_rows:
        print("rows: weir %d, pyarrow %d" % (len(rows), t.num_rows))
        return 1
    for r in rows:
        if set(r) - set(t.column_names):
            print("weir has columns %s that pyarrow has not" % sorted(set(r) - set(t.column_names)))
            return 1
    rows = [{k: r.get(k) for k in t.column_names} for r in rows]  # JSONL may leave nulls out
    want = sorted(t.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True))
    got = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    for w, g in zip(want, got):
        if w != g:
            print("weir %r, pyarrow %r" % (g, w))
            return 1
    print("equal: %d rows, %d columns" % (t.num_rows, t.num_columns))
    return 0


def norm_arrow(col):
    """pyarrow values as weir writes them to JSONL."""
    t = col.type
    # Parquet has no unit of seconds: pyarrow writes them as milliseconds
    # (and casts back when it reads), weir reads the file's unit.
    if pa.types.is_timestamp(t) and t.unit == "s":
        col, t = col.cast(pa.timestamp("ms", tz=t.tz)), pa.timestamp("ms", tz=t.tz)
    if pa.types.is_time32(t) and t.unit == "s":
        col, t = col.cast(pa.time32("ms")), pa.time32("ms")
    if pa.types.is_timestamp(t) or pa.types.is_time(t) or pa.types.is_date(t):
        width = pa.int32() if t.bit_width == 32 else pa.int64()
        col = col.cast(width)
    if pa.types.is_decimal(t):
        return [None if v is None else float(v) for v in col.to_pylist()]
    if pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t) or pa.types.is_large_binary(t):
        return [None if v is None else base64.b64encode(v).decode() for v in col.to_pylist()]
    return col.to_pylist()


def close(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compare(jsonl, parquet, columns=None):
    t = pq.read_table(parquet, columns=columns.split(",") if columns else None)
    rows = [json.loads(line) for line in open(jsonl)]
    if len(rows) != t.num_rows:
        print("rows: weir %d, pyarrow %d" % (len(rows), t.num_rows))
        return 1
    for name in t.column_names:
        want = norm_arrow(t.column(name))
        t_ = t.column(name).type
        as_json = (pa.types.is_list(t_) or pa.types.is_large_list(t_)) and (
            pa.types.is_string(t_.value_type) or pa.types.is_boolean(t_.value_type))
        for i, w in enumerate(want):
            got = rows[i].get(name)
            if as_json and got is not None:  # weir reads these as the JSON text of the list
                got = json.loads(got)
            if not close(got, w):
                print("column %s row %d: weir %r, pyarrow %r" % (name, i, got, w))
                return 1
    print("equal: %d rows, %d columns" % (t.num_rows, t.num_columns))
    return 0


def check(weir_file, expected):
    import duckdb
    rows = [json.loads(line) for line in open(expected)]
    t = pq.read_table(weir_file)
    if t.num_rows != len(rows):
        print("pyarrow reads %d rows, expected %d" % (t.num_rows, len(rows)))
        return 1
    for name in t.column_names:
        got = norm_arrow(t.column(name))
        for i, g in enumerate(got):
            w = rows[i].get(name)
            if not close(g, w):
                print("pyarrow: column %s row %d: %r, expected %r" % (name, i, g, w))
                return 1
    # Statistics in the footer agree with the values.
    md = pq.ParquetFile(weir_file).metadata
    for rg in range(md.num_row_groups):
        g = md.row_group(rg)
        part = t.slice(sum(md.row_group(k).num_rows for k in range(rg)), g.num_rows)
        for c in range(g.num_columns):
            cc = g.column(c)
            name = cc.path_in_schema.split(".")[0]
            col = part.column(name)
            st = cc.statistics
            if st is None or pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                continue
            if st.null_count != col.null_count:
                print("row group %d column %s: null_count %d, actual %d" % (rg, name, st.null_count, col.null_count))
                return 1
            if st.has_min_max and col.null_count < len(col):
                mm = pc.min_max(col)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                if not (close(st.min, lo) and close(st.max, hi)):
                    print("row group %d column %s: stats %r..%r, actual %r..%r" % (rg, name, st.min, st.max, lo, hi))
                    return 1
    con = duckdb.connect()
    rel = con.sql("select * from read_parquet('%s')" % weir_file)
    d = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    if d.num_rows != len(rows):
        print("duckdb reads %d rows, expected %d" % (d.num_rows, len(rows)))
        return 1
    for name in d.column_names:
        got = norm_arrow(d.column(name))
        for i, g in enumerate(got):
            w = rows[i].get(name)
            if not close(g, w):
                print("duckdb: column %s row %d: %r, expected %r" % (name, i, g, w))
                return 1
    print("pyarrow and duckdb agree: %d rows" % len(rows))
    return 0


def huge(path, mib):
    import numpy as np
    width, ntok = 4096, 64
    n = int(mib) * 2**20 // (8 + width + 8 + ntok * 4)
    rng = np.random.default_rng(5)
    base = rng.integers(97, 123, size=width * 16, dtype=np.uint8).tobytes()
    data = (base * (n // 16 + 1))[: n * width]
    offs = np.arange(n + 1, dtype=np.int64) * width
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offs.tobytes()), pa.py_buffer(data))
    toks = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * ntok),
                                    pa.array(np.arange(n * ntok, dtype=np.int32) % 50000))
    t = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "text": text.cast(pa.string()),
                  "tok": toks})
    pq.write_table(t, path, row_group_size=n, compression="zstd", use_dictionary=False)
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups == 1, md.num_row_groups
    print(n)
    return 0


def groups(path):
    n, per = 1000, 600
    ids = [(i * 7919) % 1000 - 300 for i in range(n)]
    strs = [None if i % 9 == 4 else "w%04d" % ((i * 31) % 1000) for i in range(n)]
    t = pa.table({"id": pa.array(ids, pa.int64()), "s": pa.array(strs, pa.string())})
    pq.write_table(t, path, row_group_size=per, compression="zstd")
    for start in range(0, n, per):
        gi, gs = ids[start:start + per], strs[start:start + per]
        present = [x for x in gs if x is not None]
        print(len(gi), min(gi), max(gi), len(gs) - len(present), min(present), max(present))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "huge":
        sys.exit(huge(sys.argv[2], sys.argv[3]))
    if cmd == "groups":
        sys.exit(groups(sys.argv[2]))
    if cmd == "make":
        make(sys.argv[2])
        sys.exit(0)
    if cmd == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None))
    if cmd == "hive_compare":
        a = sys.argv[2:] + [None] * 4
        sys.exit(hive_compare(a[0], a[1], a[2], a[3]))
    if cmd == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    sys.exit(2)
