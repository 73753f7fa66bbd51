"""ctypes bindings to libweir for the interop checks: the Arrow C Data and
C Stream structs, the public block API, a reader that turns a weir block
into Python values by walking weir's own memory (so a comparison with
pyarrow does not go through pyarrow twice), a block builder from Python
values, and release callbacks that count their calls.

Only the public API of include/weir.h is used, as an application would.
"""
import ctypes
import os
import re
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_uint8, c_uint16, c_uint32, c_void_p)

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _error_codes():
    """The WEIR_E* values, read from the one list in include/weir/error.h."""
    text = open(os.path.join(HERE, "..", "..", "include", "weir",
                             "error.h")).read()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"X\((\w+),\s*(-?\d+),", text)}


ERR = _error_codes()

# WEIR_TYPE_* and WEIR_DTYPE_* (include/weir/block.h).
T_BOOL, T_INT32, T_INT64, T_FLOAT32, T_FLOAT64, T_STRING, T_BINARY, \
    T_TENSOR, T_LIST = range(1, 10)
DT_UINT8, DT_INT8, DT_INT16, DT_INT32, DT_INT64, DT_FLOAT16, DT_BFLOAT16, \
    DT_FLOAT32, DT_FLOAT64, DT_UINT16, DT_UINT32, DT_UINT64 = range(1, 13)
# numpy's view of each dtype; bfloat16 has none, so its raw uint16 bits.
DT_NUMPY = {DT_UINT8: np.uint8, DT_INT8: np.int8, DT_INT16: np.int16,
            DT_INT32: np.int32, DT_INT64: np.int64, DT_FLOAT16: np.float16,
            DT_BFLOAT16: np.uint16, DT_FLOAT32: np.float32,
            DT_FLOAT64: np.float64, DT_UINT16: np.uint16,
            DT_UINT32: np.uint32, DT_UINT64: np.uint64}
FIXED_NUMPY = {T_INT32: np.int32, T_INT64: np.int64, T_FLOAT32: np.float32,
               T_FLOAT64: np.float64}


class ArrowSchema(Structure):
    pass


ArrowSchema._fields_ = [
    ("format", c_char_p), ("name", c_char_p), ("metadata", c_void_p),
    ("flags", c_int64), ("n_children", c_int64),
    ("children", POINTER(POINTER(ArrowSchema))),
    ("dictionary", POINTER(ArrowSchema)),
    ("release", c_void_p), ("private_data", c_void_p)]


class ArrowArray(Structure):
    pass


ArrowArray._fields_ = [
    ("length", c_int64), ("null_count", c_int64), ("offset", c_int64),
    ("n_buffers", c_int64), ("n_children", c_int64),
    ("buffers", POINTER(c_void_p)),
    ("children", POINTER(POINTER(ArrowArray))),
    ("dictionary", POINTER(ArrowArray)),
    ("release", c_void_p), ("private_data", c_void_p)]


class ArrowArrayStream(Structure):
    _fields_ = [("get_schema", c_void_p), ("get_next", c_void_p),
                ("get_last_error", c_void_p), ("release", c_void_p),
                ("private_data", c_void_p)]


class WeirColumn(Structure):
    _fields_ = [("name", c_char_p), ("type", c_int), ("length", c_size_t),
                ("validity", c_void_p), ("data", c_void_p),
                ("offsets", c_void_p), ("dtype", c_int), ("ndim", c_int),
                ("shape", c_int64 * 8), ("device", c_int),
                ("device_id", c_int), ("null_count", c_size_t),
                ("ready_event", c_void_p)]


class DLDevice(Structure):
    _fields_ = [("device_type", c_int), ("device_id", c_int)]


class DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class DLTensor(Structure):
    _fields_ = [("data", c_void_p), ("device", DLDevice), ("ndim", c_int),
                ("dtype", DLDataType), ("shape", POINTER(c_int64)),
                ("strides", POINTER(c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", c_void_p),
                ("deleter", c_void_p)]


def slice_block(lib, block, lo, cnt):
    """A new block of rows [lo, lo + cnt) of `block` (weir_block_slice)."""
    view = c_void_p()
    check(lib, lib.weir_block_slice(block, lo, cnt, ctypes.byref(view)), "slice")
    return view


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "weir_block_from_arrow": (c_int, [c_void_p, c_void_p, c_void_p]),
        "weir_block_to_arrow": (c_int, [c_void_p, c_void_p, c_void_p]),
        "weir_blocks_to_arrow_stream": (c_int, [c_void_p, c_size_t,
                                                c_void_p]),
        "weir_arrow_stream_next": (c_int, [c_void_p, c_void_p]),
        "weir_last_errmsg": (c_char_p, []),
        "weir_block_unref": (None, [c_void_p]),
        "weir_block_num_rows": (c_size_t, [c_void_p]),
        "weir_block_num_columns": (c_size_t, [c_void_p]),
        "weir_block_column": (c_int, [c_void_p, c_size_t,
                                      POINTER(WeirColumn)]),
        "weir_block_slice": (c_int, [c_void_p, c_size_t, c_size_t, c_void_p]),
        "weir_block_column_to_dlpack": (c_int, [c_void_p, c_size_t,
                                                c_void_p]),
        "weir_type_name": (c_char_p, [c_int]),
        "weir_builder_create": (c_int, [c_void_p]),
        "weir_builder_destroy": (None, [c_void_p]),
        "weir_builder_add_column": (c_int, [c_void_p, c_char_p, c_int]),
        "weir_builder_add_tensor_column": (c_int, [c_void_p, c_char_p, c_int,
                                                   c_int, POINTER(c_int64)]),
        "weir_builder_append_int64": (c_int, [c_void_p, c_size_t, c_int64]),
        "weir_builder_append_float64": (c_int, [c_void_p, c_size_t,
                                                c_double]),
        "weir_builder_append_bool": (c_int, [c_void_p, c_size_t, c_int]),
        "weir_builder_append_string": (c_int, [c_void_p, c_size_t, c_char_p,
                                               c_size_t]),
        "weir_builder_append_tensor": (c_int, [c_void_p, c_size_t,
                                               c_void_p]),
        "weir_builder_append_null": (c_int, [c_void_p, c_size_t]),
        "weir_builder_add_list_column": (c_int, [c_void_p, c_char_p, c_int]),
        "weir_builder_append_list": (c_int, [c_void_p, c_size_t, c_void_p,
                                             c_size_t]),
        "weir_builder_finish": (c_int, [c_void_p, c_void_p]),
        "weir_builder_errmsg": (c_char_p, [c_void_p]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


RELEASE_FN = CFUNCTYPE(None, c_void_p)
DELETER_FN = CFUNCTYPE(None, c_void_p)


class Counted:
    """Puts a counting callback in front of a struct's release (or a
    DLPack deleter) that then calls the producer's own."""

    def __init__(self, struct, field="release", proto=RELEASE_FN):
        self.calls = 0
        original = getattr(struct, field)
        assert original, f"{type(struct).__name__} has no {field} to wrap"
        self._original = proto(original)

        def hook(p):
            self.calls += 1
            self._original(p)

        self._hook = proto(hook)           # kept alive as long as self
        setattr(struct, field, ctypes.cast(self._hook, c_void_p).value)


class WeirError(Exception):
    def __init__(self, code, msg):
        super().__init__(f"{code} ({name_of(code)}): {msg}")
        self.code, self.msg = code, msg


def name_of(code):
    return next((k for k, v in ERR.items() if v == code), str(code))


def check(lib, rc, what):
    if rc != 0:
        raise WeirError(rc, (lib.weir_last_errmsg() or b"").decode())


def _bit(base, i):
    return (ctypes.c_uint8.from_address(base + i // 8).value >> (i % 8)) & 1


def _array(addr, ctype, n):
    if n == 0:
        return np.zeros(0, ctype)
    return np.frombuffer((ctypes.c_char * (n * np.dtype(ctype).itemsize))
                         .from_address(addr), dtype=ctype).copy()


def column(lib, block, i):
    col = WeirColumn()
    check(lib, lib.weir_block_column(block, i, ctypes.byref(col)), "column")
    return col


def block_values(lib, block):
    """{name: (type name, [values, None for nulls])} read from weir's own
    memory. Tensors come as flat numpy arrays per row; bfloat16 as its raw
    uint16 bits."""
    out = {}
    for i in range(lib.weir_block_num_columns(block)):
        col = column(lib, block, i)
        n = col.length
        valid = [col.validity is None or _bit(col.validity, r)
                 for r in range(n)]
        if col.type == T_BOOL:
            vals = [bool(_bit(col.data, r)) for r in range(n)]
        elif col.type in FIXED_NUMPY:
            vals = _array(col.data, FIXED_NUMPY[col.type], n).tolist()
        elif col.type in (T_STRING, T_BINARY):
            offs = _array(col.offsets, np.int64, n + 1)
            vals = [ctypes.string_at(col.data + int(offs[r]),
                                     int(offs[r + 1] - offs[r]))
                    if offs[r + 1] > offs[r] else b"" for r in range(n)]
            if col.type == T_STRING:
                vals = [v.decode() for v in vals]
        elif col.type == T_LIST:
            offs = _array(col.offsets, np.int64, n + 1)
            npt = DT_NUMPY[col.dtype]
            size = np.dtype(npt).itemsize
            vals = [_array(col.data + int(offs[r]) * size, npt,
                           int(offs[r + 1] - offs[r])) for r in range(n)]
        elif col.type == T_TENSOR:
            per_row = int(np.prod(col.shape[:col.ndim]))
            flat = _array(col.data, DT_NUMPY[col.dtype], n * per_row)
            vals = [flat[r * per_row:(r + 1) * per_row] for r in range(n)]
        else:
            raise AssertionError(f"unknown weir type {col.type}")
        out[col.name.decode()] = (
            lib.weir_type_name(col.type).decode(),
            [v if ok else None for v, ok in zip(vals, valid)])
    return out


def build_block(lib, columns):
    """A weir block from [(name, type, values)] or, for tensors and lists,
    [(name, (T_TENSOR, dtype, shape), rows)], [(name, (T_LIST, dtype),
    rows)]; None is a null row."""
    bld = c_void_p()
    check(lib, lib.weir_builder_create(ctypes.byref(bld)), "builder")
    try:
        for ci, (name, typ, values) in enumerate(columns):
            if isinstance(typ, tuple) and typ[0] == T_LIST:
                rc = lib.weir_builder_add_list_column(bld, name.encode(),
                                                      typ[1])
            elif isinstance(typ, tuple):
                _, dtype, shape = typ
                sh = (c_int64 * len(shape))(*shape)
                rc = lib.weir_builder_add_tensor_column(
                    bld, name.encode(), dtype, len(shape), sh)
            else:
                rc = lib.weir_builder_add_column(bld, name.encode(), typ)
            assert rc == 0, lib.weir_builder_errmsg(bld)
            for v in values:
                if v is None:
                    rc = lib.weir_builder_append_null(bld, ci)
                elif isinstance(typ, tuple) and typ[0] == T_LIST:
                    a = np.ascontiguousarray(v, DT_NUMPY[typ[1]])
                    rc = lib.weir_builder_append_list(
                        bld, ci, a.ctypes.data if len(a) else None, len(a))
                elif isinstance(typ, tuple):
                    a = np.ascontiguousarray(v, DT_NUMPY[typ[1]])
                    rc = lib.weir_builder_append_tensor(bld, ci,
                                                        a.ctypes.data)
                elif typ == T_BOOL:
                    rc = lib.weir_builder_append_bool(bld, ci, int(v))
                elif typ in (T_INT32, T_INT64):
                    rc = lib.weir_builder_append_int64(bld, ci, v)
                elif typ in (T_FLOAT32, T_FLOAT64):
                    rc = lib.weir_builder_append_float64(bld, ci, v)
                else:
                    b = v.encode() if isinstance(v, str) else v
                    rc = lib.weir_builder_append_string(bld, ci, b, len(b))
                assert rc == 0, lib.weir_builder_errmsg(bld)
        out = c_void_p()
        rc = lib.weir_builder_finish(bld, ctypes.byref(out))
        assert rc == 0, lib.weir_builder_errmsg(bld)
        return out
    finally:
        lib.weir_builder_destroy(bld)


def unref(lib, block):
    b = c_void_p(block.value if isinstance(block, c_void_p) else block)
    lib.weir_block_unref(ctypes.byref(b))
    assert b.value is None


def addr(struct):
    return ctypes.addressof(struct)
