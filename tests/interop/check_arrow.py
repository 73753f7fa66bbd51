"""Interop of weir with the reference implementations, through the Arrow C
Data and C Stream interfaces and DLPack: pyarrow, DuckDB and PyTorch.

Usage: python check_arrow.py <path to libweir.so> <group>
Groups: import, export, unsupported, stream, duckdb, dlpack.
Exits 0 when every check of the group holds; an AssertionError names the
case otherwise. Driven by tests/test_interop_arrow.c.
"""
import ctypes
import gc
import sys
from ctypes import byref, c_void_p

import numpy as np
import pyarrow as pa

from weir_ffi import (ArrowArray, ArrowArrayStream, ArrowSchema, Counted,
                      DLManagedTensor, DELETER_FN, DT_BFLOAT16, DT_FLOAT16,
                      DT_FLOAT32, DT_FLOAT64, DT_INT8, DT_INT16, DT_INT32,
                      DT_INT64, DT_NUMPY, DT_UINT8, DT_UINT16, DT_UINT32,
                      DT_UINT64, ERR, T_BINARY, T_BOOL, T_FLOAT32, T_FLOAT64,
                      T_INT32, T_INT64, T_LIST, T_STRING, T_TENSOR, WeirError, addr, block_values, build_block, slice_block,
                      check, column, load, unref)

lib = load(sys.argv[1])

TENSOR_DTYPES = [(pa.uint8(), DT_UINT8), (pa.int8(), DT_INT8),
                 (pa.int16(), DT_INT16), (pa.int32(), DT_INT32),
                 (pa.int64(), DT_INT64), (pa.float16(), DT_FLOAT16),
                 (pa.float32(), DT_FLOAT32), (pa.float64(), DT_FLOAT64),
                 (pa.uint16(), DT_UINT16), (pa.uint32(), DT_UINT32),
                 (pa.uint64(), DT_UINT64)]


def pa_alloc_settled(before):
    gc.collect()
    now = pa.total_allocated_bytes()
    assert now == before, f"pyarrow still holds {now - before} bytes"


# ---- pyarrow -> weir ------------------------------------------------------

def sample_batch(n=37):
    """A record batch of every Arrow type weir imports, nulls included."""
    rng = np.random.default_rng(7)
    nulls = [i % 5 == 3 for i in range(n)]

    def with_nulls(vals):
        return [None if z else v for v, z in zip(vals, nulls)]

    cols = {
        "i32": pa.array(with_nulls(rng.integers(-2**31, 2**31, n).tolist()),
                        pa.int32()),
        "i64": pa.array(with_nulls(rng.integers(-2**62, 2**62, n).tolist()),
                        pa.int64()),
        "f32": pa.array(with_nulls(rng.standard_normal(n).astype(np.float32)
                                   .tolist()), pa.float32()),
        "f64": pa.array(with_nulls([float(x) for x in rng.standard_normal(n)]
                                   [:-1] + [float("inf")]), pa.float64()),
        "ok": pa.array(with_nulls([bool(x) for x in rng.integers(0, 2, n)]),
                       pa.bool_()),
        "s": pa.array(with_nulls([f"row {i} é" * (i % 4) for i in range(n)]),
                      pa.string()),
        "ls": pa.array(with_nulls([f"large {i}" for i in range(n)]),
                       pa.large_string()),
        "bin": pa.array(with_nulls([bytes([i, 0, 255 - i]) * (i % 3)
                                    for i in range(n)]), pa.binary()),
        "lbin": pa.array(with_nulls([bytes([i]) for i in range(n)]),
                         pa.large_binary()),
    }
    for pt, dt in TENSOR_DTYPES:
        t = pa.fixed_shape_tensor(pt, [2, 3])
        flat = (rng.integers(-100, 100, n * 6) if pt != pa.uint8()
                else rng.integers(0, 255, n * 6)).astype(DT_NUMPY[dt])
        # Null rows: pyarrow keeps their elements, weir takes them as they
        # are (it has no per-element nulls to lose).
        storage = pa.FixedSizeListArray.from_arrays(
            pa.array(flat, pt), 6, mask=pa.array(nulls, pa.bool_()))
        cols[f"t_{pt}"] = pa.ExtensionArray.from_storage(t, storage)
    # Lists of numbers, 32- and 64-bit offsets, empty and null rows.
    for pt, lt in ((pa.int32(), pa.list_), (pa.float32(), pa.large_list),
                   (pa.uint64(), pa.list_), (pa.int8(), pa.large_list),
                   (pa.float64(), pa.list_)):
        rows = [None if z else rng.integers(0, 100, i % 4).astype(str(pt))
                for i, z in enumerate(nulls)]
        cols[f"l_{pt}"] = pa.array(rows, lt(pt))
    # A FixedSizeList without the extension: a 1-d tensor.
    cols["fsl"] = pa.FixedSizeListArray.from_arrays(
        pa.array(np.arange(n * 4, dtype=np.float32)), 4)
    return pa.RecordBatch.from_pydict(cols)


def expected(arr):
    """pyarrow's values of one column, in block_values' form."""
    if isinstance(arr.type, pa.FixedShapeTensorType):
        arr = arr.storage
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        return [None if v is None else np.array(v) for v in arr.to_pylist()]
    if pa.types.is_fixed_size_list(arr.type):
        out = []
        flat = arr.values.to_numpy(zero_copy_only=False)
        k = arr.type.list_size
        for i in range(len(arr)):
            if not arr[i].is_valid:
                out.append(None)
            else:
                j = arr.offset + i
                out.append(flat[j * k:(j + 1) * k])
        return out
    vals = arr.to_pylist()
    return vals


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return a == b


def import_batch(batch_or_array, as_array=False):
    """Moves a pyarrow record batch or array into weir; returns the block
    and the release counters of the array and the schema."""
    arr, sch = ArrowArray(), ArrowSchema()
    batch_or_array._export_to_c(addr(arr), addr(sch))
    ca, cs = Counted(arr), Counted(sch)
    out = c_void_p()
    rc = lib.weir_block_from_arrow(byref(arr), byref(sch), byref(out))
    assert arr.release is None and sch.release is None, \
        "weir_block_from_arrow did not move its inputs in"
    return rc, out, ca, cs


def compare_block(block, batch, what):
    got = block_values(lib, block)
    assert lib.weir_block_num_rows(block) == batch.num_rows, what
    assert list(got) == batch.schema.names, (what, list(got))
    for name in batch.schema.names:
        want = expected(batch.column(name))
        typ, vals = got[name]
        assert len(vals) == len(want), (what, name)
        for r, (a, b) in enumerate(zip(vals, want)):
            assert same(a, b), f"{what}: column {name} ({typ}) row {r}: " \
                f"weir {a!r}, pyarrow {b!r}"


def check_import():
    base = pa.total_allocated_bytes()
    batch = sample_batch()
    cases = [("whole", batch), ("sliced", batch.slice(3, 21)),
             ("odd offset", batch.slice(9, 13)),
             ("zero rows", batch.slice(5, 0)),
             ("empty", pa.RecordBatch.from_pydict(
                 {"a": pa.array([], pa.int64())}))]
    for what, b in cases:
        rc, block, ca, cs = import_batch(b)
        check(lib, rc, what)
        compare_block(block, b, what)
        assert ca.calls == 0, f"{what}: released while the block lives"
        unref(lib, block)
        assert (ca.calls, cs.calls) == (1, 1), \
            f"{what}: release ran {ca.calls}/{cs.calls} times"
        del b
    # Zero copy: an int64 column's values are pyarrow's own memory.
    rc, block, ca, cs = import_batch(batch)
    check(lib, rc, "zero copy")
    col = column(lib, block, batch.schema.get_field_index("i64"))
    assert col.data == batch.column("i64").buffers()[1].address, \
        "weir copied an int64 column"
    unref(lib, block)
    assert ca.calls == 1

    # A struct array with its own offset and nulls: the struct's nulls fold
    # into every column.
    st = pa.StructArray.from_arrays(
        [pa.array(range(40), pa.int64()), pa.array([f"v{i}" for i in
                                                     range(40)])],
        names=["x", "y"], mask=pa.array([i % 7 == 0 for i in range(40)]))
    sl = st.slice(5, 30)
    rc, block, ca, cs = import_batch(sl)
    check(lib, rc, "struct slice")
    got = block_values(lib, block)
    for i in range(30):
        row = sl[i].as_py()
        for k in ("x", "y"):
            want = None if row is None else row[k]
            assert got[k][1][i] == want, ("struct slice", k, i)
    unref(lib, block)
    assert (ca.calls, cs.calls) == (1, 1)

    # A top-level array that is not a struct: one column named after the
    # schema's field.
    plain = pa.array([1.5, None, 3.0], pa.float64())
    rc, block, ca, cs = import_batch(plain)
    check(lib, rc, "plain array")
    assert lib.weir_block_num_columns(block) == 1
    assert list(block_values(lib, block).values())[0][1] == [1.5, None, 3.0]
    unref(lib, block)
    assert (ca.calls, cs.calls) == (1, 1)
    del batch, cases, st, sl, plain
    pa_alloc_settled(base)


# ---- weir -> pyarrow ------------------------------------------------------

def sample_columns(n=29):
    rng = np.random.default_rng(11)
    nul = [i % 6 == 2 for i in range(n)]

    def nn(vals):
        return [None if z else v for v, z in zip(vals, nul)]

    cols = [
        ("ok", T_BOOL, nn([bool(i % 3) for i in range(n)])),
        ("i32", T_INT32, nn(rng.integers(-2**31, 2**31, n).tolist())),
        ("i64", T_INT64, nn(rng.integers(-2**63, 2**63 - 1, n).tolist())),
        ("f32", T_FLOAT32, nn(rng.standard_normal(n).astype(np.float32)
                              .tolist())),
        ("f64", T_FLOAT64, nn(rng.standard_normal(n).tolist())),
        ("s", T_STRING, nn([f"weir {i} ü" * (i % 3) for i in range(n)])),
        ("b", T_BINARY, nn([bytes(range(i % 7)) for i in range(n)])),
    ]
    for dt in DT_NUMPY:
        npt = DT_NUMPY[dt]
        rows = [rng.integers(0, 100, 6).astype(npt) for _ in range(n)]
        cols.append((f"t{dt}", (T_TENSOR, dt, (3, 2)), nn(rows)))
    for dt in DT_NUMPY:
        rows = [rng.integers(0, 100, i % 5).astype(DT_NUMPY[dt])
                for i in range(n)]
        cols.append((f"l{dt}", (T_LIST, dt), nn(rows)))
    return cols


def pa_values(arr):
    if isinstance(arr.type, pa.BaseExtensionType):
        arr = arr.storage
    if pa.types.is_large_list(arr.type):
        # The raw elements (bfloat16 lists travel as uint16 bits); `values`
        # is the whole child and a slice's offsets index into it.
        flat = arr.values.to_numpy(zero_copy_only=False)
        offs = arr.offsets.to_numpy()
        return [None if not arr[i].is_valid
                else flat[offs[i]:offs[i + 1]]
                for i in range(len(arr))]
    if pa.types.is_fixed_size_list(arr.type):
        k = arr.type.list_size
        flat = arr.values.to_numpy(zero_copy_only=False)
        return [None if not arr[i].is_valid
                else flat[(arr.offset + i) * k:(arr.offset + i + 1) * k]
                for i in range(len(arr))]
    return arr.to_pylist()


def export_block(block):
    arr, sch = ArrowArray(), ArrowSchema()
    check(lib, lib.weir_block_to_arrow(block, byref(arr), byref(sch)),
          "export")
    ca, cs = Counted(arr), Counted(sch)
    batch = pa.RecordBatch._import_from_c(addr(arr), addr(sch))
    return batch, ca, cs


def metadata(schema):
    """The key/value pairs of an ArrowSchema's metadata (int32 count, then
    int32-length-prefixed keys and values)."""
    out, p = {}, schema.metadata
    if not p:
        return out
    def i32(q):
        return int.from_bytes(ctypes.string_at(q, 4), sys.byteorder,
                              signed=True)
    n, p = i32(p), p + 4
    for _ in range(n):
        k = ctypes.string_at(p + 4, i32(p))
        p += 4 + len(k)
        v = ctypes.string_at(p + 4, i32(p))
        p += 4 + len(v)
        out[k] = v
    return out


def export_case(block, cols, what, lo, cnt):
    """Exports rows [lo, lo + cnt) of `block` to pyarrow and checks them;
    returns the release counters (pyarrow still holding the arrays until
    this frame goes)."""
    view = slice_block(lib, block, lo, cnt)
    assert view.value, what
    batch, ca, cs = export_block(view)
    unref(lib, view)            # the arrays keep their buffers alive
    batch.validate(full=True)
    assert batch.num_rows == cnt, what
    assert batch.schema.names == [c[0] for c in cols], what
    for name, typ, vals in cols:
        col = batch.column(name)
        if isinstance(typ, tuple) and typ[0] == T_TENSOR:
            assert isinstance(col.type, pa.FixedShapeTensorType), \
                (what, name, col.type)
            assert col.type.shape == [3, 2], (what, name, col.type.shape)
        elif isinstance(typ, tuple):
            assert pa.types.is_large_list(col.type), (what, name, col.type)
        got = pa_values(col)
        for r, (a, b) in enumerate(zip(got, vals[lo:lo + cnt])):
            assert same(a, b), f"{what}: {name} row {r}: pyarrow " \
                f"{a!r}, weir {b!r}"
    want_types = {"ok": pa.bool_(), "i32": pa.int32(), "i64": pa.int64(),
                  "f32": pa.float32(), "f64": pa.float64(),
                  "s": pa.large_string(), "b": pa.large_binary()}
    for k, t in want_types.items():
        assert batch.schema.field(k).type == t, (what, k)
    assert ca.calls == 0, f"{what}: released while pyarrow holds it"
    return ca, cs


def check_export():
    cols = sample_columns()
    block = build_block(lib, cols)
    n = len(cols[0][2])
    for what, lo, cnt in (("whole", 0, n), ("sliced", 3, 17),
                          ("odd offset", 5, 11), ("zero rows", 4, 0)):
        ca, cs = export_case(block, cols, what, lo, cnt)
        gc.collect()
        assert (ca.calls, cs.calls) == (1, 1), \
            f"{what}: release ran {ca.calls}/{cs.calls} times"
    # The bfloat16 column travels as uint16 bits with its dtype named in
    # the extension metadata.
    arr, sch = ArrowArray(), ArrowSchema()
    check(lib, lib.weir_block_to_arrow(block, byref(arr), byref(sch)), "bf")
    ci = [c[0] for c in cols].index(f"t{DT_BFLOAT16}")
    meta = metadata(sch.children[ci].contents)
    assert b"bfloat16" in meta.get(b"ARROW:extension:metadata", b""), meta
    batch = pa.RecordBatch._import_from_c(addr(arr), addr(sch))
    t = batch.schema.field(f"t{DT_BFLOAT16}").type
    assert t.value_type == pa.uint16(), t
    del batch, t
    # Round trip: what pyarrow got, weir reads back equal.
    batch, ca, cs = export_block(block)
    rc, back, ca2, cs2 = import_batch(batch)
    check(lib, rc, "round trip")
    assert block_values(lib, back).keys() == block_values(lib, block).keys()
    for (k, (ta, va)), (_, (tb, vb)) in zip(
            block_values(lib, back).items(),
            block_values(lib, block).items()):
        assert ta == tb and all(same(a, b) for a, b in zip(va, vb)), k
    # Every column keeps its dtype, bfloat16 included.
    for i in range(lib.weir_block_num_columns(block)):
        a, b = column(lib, back, i), column(lib, block, i)
        assert (a.type, a.dtype) == (b.type, b.dtype), (a.name, a.dtype)
    unref(lib, back)
    del batch
    gc.collect()
    assert ca.calls == 1 and ca2.calls == 1
    unref(lib, block)


# ---- types weir does not hold ---------------------------------------------

def check_unsupported():
    base = pa.total_allocated_bytes()
    cases = [
        ("dict", pa.array(["a", "b", "a"]).dictionary_encode(),
         "dictionary"),
        ("nested", pa.array([{"a": 1}, None, {"a": 3}]), "struct"),
        ("view", pa.array(["x", "yy", None], pa.string_view()),
         "string_view"),
        ("dec", pa.array([1, 2, None], pa.decimal128(10, 2)), "decimal"),
        ("lstr", pa.array([["a"], [], None], pa.list_(pa.string())),
         "string"),
        ("lnull", pa.array([[1, None], [], None], pa.list_(pa.int32())),
         "null"),
        ("ll", pa.array([[[1]], [], None], pa.list_(pa.list_(pa.int32()))),
         "list"),
        ("i8", pa.array([1, -2, None], pa.int8()), "int8"),
        ("i16", pa.array([1, -2, None], pa.int16()), "int16"),
        ("u8", pa.array([1, 2, None], pa.uint8()), "uint8"),
        ("u16", pa.array([1, 2, None], pa.uint16()), "uint16"),
        ("u32", pa.array([1, 2, None], pa.uint32()), "uint32"),
        ("u64", pa.array([1, 2, None], pa.uint64()), "uint64"),
        ("h", pa.array([1, 2, None], pa.float16()) if False else
         pa.array(np.array([1, 2, 3], np.float16)), "float16"),
        ("day", pa.array([1, 2, None], pa.date32()), "date32"),
        ("ts", pa.array([1, 2, None], pa.timestamp("us")), "timestamp"),
        ("null", pa.array([None, None]), "null"),
    ]
    for name, arr, tname in cases:
        # The bad column sits among good ones, as it would in a table.
        batch = pa.RecordBatch.from_arrays(
            [pa.array(range(len(arr)), pa.int64()), arr], ["ok", name])
        rc, block, ca, cs = import_batch(batch)
        msg = lib.weir_last_errmsg().decode()
        assert rc in (ERR["ENOTSUP"], ERR["EFORMAT"]), (name, rc, msg)
        assert block.value is None, name
        assert f"'{name}'" in msg and tname in msg, \
            f"{name}: the message names neither column nor type: {msg}"
        assert (ca.calls, cs.calls) == (1, 1), \
            f"{name}: release ran {ca.calls}/{cs.calls} times"
        # The same column in a stream: the error comes out of next().
        stream = ArrowArrayStream()
        pa.RecordBatchReader.from_batches(batch.schema, [batch]) \
            ._export_to_c(addr(stream))
        cst = Counted(stream)
        out = c_void_p()
        rc = lib.weir_arrow_stream_next(byref(stream), byref(out))
        msg = lib.weir_last_errmsg().decode()
        assert rc in (ERR["ENOTSUP"], ERR["EFORMAT"]) and \
            f"'{name}'" in msg and tname in msg, (name, rc, msg)
        ctypes.CFUNCTYPE(None, c_void_p)(stream.release)(addr(stream))
        assert cst.calls == 1
        del batch, arr
    del cases
    pa_alloc_settled(base)


# ---- streams --------------------------------------------------------------

def check_stream():
    base = pa.total_allocated_bytes()
    # pyarrow -> weir, batch by batch.
    batches = [sample_batch(n) for n in (10, 0, 33, 1)]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, batches)
    stream = ArrowArrayStream()
    reader._export_to_c(addr(stream))
    cst = Counted(stream)
    for i, want in enumerate(batches):
        out = c_void_p()
        check(lib, lib.weir_arrow_stream_next(byref(stream), byref(out)),
              f"batch {i}")
        compare_block(out, want, f"stream batch {i}")
        unref(lib, out)
    out = c_void_p()
    assert lib.weir_arrow_stream_next(byref(stream), byref(out)) == \
        ERR["EOF"]
    ctypes.CFUNCTYPE(None, c_void_p)(stream.release)(addr(stream))
    assert cst.calls == 1
    del reader

    # A producer that fails mid-stream: WEIR_EIO with its message.
    schema = pa.schema([("x", pa.int64())])

    def gen():
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise ValueError("the producer broke on purpose")

    stream = ArrowArrayStream()
    pa.RecordBatchReader.from_batches(schema, gen())._export_to_c(
        addr(stream))
    out = c_void_p()
    check(lib, lib.weir_arrow_stream_next(byref(stream), byref(out)), "1st")
    unref(lib, out)
    rc = lib.weir_arrow_stream_next(byref(stream), byref(out))
    msg = lib.weir_last_errmsg().decode()
    assert rc == ERR["EIO"] and "broke on purpose" in msg, (rc, msg)
    ctypes.CFUNCTYPE(None, c_void_p)(stream.release)(addr(stream))

    # weir -> pyarrow.
    cols = sample_columns(20)
    blocks = [build_block(lib, [(n, t, v[i:i + 5]) for n, t, v in cols])
              for i in range(0, 20, 5)]
    arr_t = c_void_p * len(blocks)
    stream = ArrowArrayStream()
    check(lib, lib.weir_blocks_to_arrow_stream(
        arr_t(*[b.value for b in blocks]), len(blocks), byref(stream)),
        "to stream")
    for b in blocks:
        unref(lib, b)              # the stream holds its own references
    cst = Counted(stream)
    reader = pa.RecordBatchReader._import_from_c(addr(stream))
    table = reader.read_all()
    table.validate(full=True)
    assert table.num_rows == 20
    for name, typ, vals in cols:
        got = pa_values(table.column(name).combine_chunks())
        assert all(same(a, b) for a, b in zip(got, vals)), name
    del reader, got
    gc.collect()
    assert cst.calls == 1, f"stream release ran {cst.calls} times"
    del table
    gc.collect()

    # An empty weir stream: a schema of no columns and no batches.
    stream = ArrowArrayStream()
    check(lib, lib.weir_blocks_to_arrow_stream(None, 0, byref(stream)), "0")
    t = pa.RecordBatchReader._import_from_c(addr(stream)).read_all()
    assert t.num_rows == 0 and t.num_columns == 0
    del t, batches, want
    pa_alloc_settled(base)


# ---- DuckDB ---------------------------------------------------------------

def check_duckdb():
    import duckdb
    con = duckdb.connect()
    n = 100000
    ids = np.arange(n, dtype=np.int64)
    blocks = []
    for lo in range(0, n, 30000):
        hi = min(n, lo + 30000)
        blocks.append(build_block(lib, [
            ("id", T_INT64, ids[lo:hi].tolist()),
            ("x", T_FLOAT64, (ids[lo:hi] * 0.5).tolist()),
            ("tag", T_STRING, [f"t{i % 10}" for i in range(lo, hi)]),
            ("flag", T_BOOL, [i % 3 == 0 for i in range(lo, hi)])]))
    stream = ArrowArrayStream()
    check(lib, lib.weir_blocks_to_arrow_stream(
        (c_void_p * len(blocks))(*[b.value for b in blocks]), len(blocks),
        byref(stream)), "to stream")
    for b in blocks:
        unref(lib, b)
    cst = Counted(stream)
    # Registered by name: DuckDB's lookup of Python variables would keep
    # a reference in the frame's locals snapshot.
    con.register("weir_stream",
                 pa.RecordBatchReader._import_from_c(addr(stream)))
    count, total, tags, flags = con.execute(
        "SELECT count(*), sum(x), count(DISTINCT tag), "
        "sum(CASE WHEN flag THEN 1 ELSE 0 END) FROM weir_stream").fetchall()[0]
    assert count == n and total == float((ids * 0.5).sum()), (count, total)
    assert tags == 10 and flags == (n + 2) // 3, (tags, flags)
    con.unregister("weir_stream")
    gc.collect()
    assert cst.calls == 1, f"stream release ran {cst.calls} times"

    # DuckDB -> weir: its Arrow output, read batch by batch.
    rel = con.sql(
        "SELECT i::BIGINT AS id, (i * 2)::INTEGER AS twice, i / 4 AS q, "
        "'s' || (i % 100)::VARCHAR AS s, i % 2 = 0 AS even "
        "FROM range(250000) t(i)")
    # duckdb 1.x: fetch_record_batch; later: to_arrow_reader.
    reader = (rel.to_arrow_reader(50000) if hasattr(rel, "to_arrow_reader")
              else rel.fetch_record_batch(50000))
    stream = ArrowArrayStream()
    reader._export_to_c(addr(stream))
    rows = ids_sum = twice_sum = evens = 0
    q_sum = 0.0
    while True:
        out = c_void_p()
        rc = lib.weir_arrow_stream_next(byref(stream), byref(out))
        if rc == ERR["EOF"]:
            break
        check(lib, rc, "duckdb batch")
        v = block_values(lib, out)
        assert [v[k][0] for k in ("id", "twice", "q", "s", "even")] == \
            ["int64", "int32", "float64", "string", "bool"], \
            {k: t for k, (t, _) in v.items()}
        rows += lib.weir_block_num_rows(out)
        ids_sum += sum(v["id"][1])
        twice_sum += sum(v["twice"][1])
        q_sum += sum(v["q"][1])
        evens += sum(v["even"][1])
        assert all(s == f"s{i % 100}" for s, i in zip(v["s"][1],
                                                      v["id"][1]))
        unref(lib, out)
    ctypes.CFUNCTYPE(None, c_void_p)(stream.release)(addr(stream))
    want = con.execute("SELECT count(*), sum(i), sum(i * 2), sum(i / 4), "
                       "sum(CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END) "
                       "FROM range(250000) t(i)").fetchone()
    assert (rows, ids_sum, twice_sum, evens) == \
        (want[0], want[1], want[2], want[4]), (rows, ids_sum, twice_sum)
    assert abs(q_sum - want[3]) < 1e-6 * want[3], (q_sum, want[3])


# ---- DLPack -> PyTorch ----------------------------------------------------

def check_dlpack():
    import torch
    import torch.utils.dlpack
    capsule_new = ctypes.pythonapi.PyCapsule_New
    capsule_new.restype = ctypes.py_object
    capsule_new.argtypes = [c_void_p, ctypes.c_char_p, c_void_p]
    torch_of = {DT_UINT8: torch.uint8, DT_INT8: torch.int8,
                DT_INT16: torch.int16, DT_INT32: torch.int32,
                DT_INT64: torch.int64, DT_FLOAT16: torch.float16,
                DT_BFLOAT16: torch.bfloat16, DT_FLOAT32: torch.float32,
                DT_FLOAT64: torch.float64}
    rng = np.random.default_rng(3)
    for dt, tt in torch_of.items():
        shape = (2, 3, 4)
        rows = [rng.integers(0, 120, 24).astype(DT_NUMPY[dt])
                for _ in range(9)]
        block = build_block(lib, [("pad", T_INT64, list(range(9))),
                                  ("t", (T_TENSOR, dt, shape), rows)])
        for what, lo, cnt in (("whole", 0, 9), ("slice", 4, 3)):
            view = slice_block(lib, block, lo, cnt)
            mt = ctypes.POINTER(DLManagedTensor)()
            check(lib, lib.weir_block_column_to_dlpack(view, 1, byref(mt)),
                  "dlpack")
            unref(lib, view)        # the tensor keeps its buffer alive
            dl = mt.contents.dl_tensor
            dshape = [dl.shape[i] for i in range(dl.ndim)]
            dstrides = [dl.strides[i] for i in range(dl.ndim)]
            deleter = Counted(mt.contents, "deleter", DELETER_FN)
            t = torch.utils.dlpack.from_dlpack(
                capsule_new(ctypes.cast(mt, c_void_p), b"dltensor", None))
            assert list(t.shape) == [cnt, *shape] == dshape, (dt, t.shape)
            assert t.dtype == tt, (dt, t.dtype)
            assert list(t.stride()) == dstrides == [24, 12, 4, 1], \
                (dt, t.stride())
            want = np.stack(rows[lo:lo + cnt]).reshape(cnt, *shape)
            got = t.view(torch.int16).numpy().view(np.uint16) \
                if tt == torch.bfloat16 else t.numpy()
            assert np.array_equal(got, want), (dt, what)
            col = column(lib, block, 1)
            row_bytes = 24 * np.dtype(DT_NUMPY[dt]).itemsize
            assert t.data_ptr() == col.data + lo * row_bytes, \
                f"{dt} {what}: PyTorch got a copy, not weir's memory"
            assert deleter.calls == 0
            del t, got                  # got is a view of t's memory
            gc.collect()
            assert deleter.calls == 1, \
                f"{dt} {what}: the deleter ran {deleter.calls} times"
        unref(lib, block)
    # Nulls and non-tensor columns are refused, not handed over.
    block = build_block(lib, [("t", (T_TENSOR, DT_FLOAT32, (2,)),
                               [np.ones(2, np.float32), None]),
                              ("x", T_INT64, [1, 2])])
    mt = ctypes.POINTER(DLManagedTensor)()
    for col in (0, 1):
        rc = lib.weir_block_column_to_dlpack(block, col, byref(mt))
        assert rc == ERR["EINVAL"], (col, rc)
    unref(lib, block)


GROUPS = {"import": check_import, "export": check_export,
          "unsupported": check_unsupported, "stream": check_stream,
          "duckdb": check_duckdb, "dlpack": check_dlpack}

if __name__ == "__main__":
    try:
        GROUPS[sys.argv[2]]()
    except WeirError as e:
        sys.exit(f"{sys.argv[2]}: weir failed: {e}")
    print(f"{sys.argv[2]}: ok")
