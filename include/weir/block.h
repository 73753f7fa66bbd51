/* Blocks: immutable, reference-counted batches of rows stored by column. */
#ifndef WEIR_BLOCK_H
#define WEIR_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"

WEIR_BEGIN_DECLS

/* Column types. */
enum {
  WEIR_TYPE_BOOL = 1,   /* bit-packed like an Arrow validity bitmap       */
  WEIR_TYPE_INT32,
  WEIR_TYPE_INT64,
  WEIR_TYPE_FLOAT32,
  WEIR_TYPE_FLOAT64,
  WEIR_TYPE_STRING,     /* utf8 bytes with int64 offsets                  */
  WEIR_TYPE_BINARY,     /* bytes with int64 offsets                       */
  WEIR_TYPE_TENSOR,     /* one fixed-shape tensor per row                 */
  WEIR_TYPE_LIST        /* a variable-length list of numbers per row: see
                           "List columns" below                            */
};

/* Element types of TENSOR columns. */
enum {
  WEIR_DTYPE_UINT8 = 1,
  WEIR_DTYPE_INT8,
  WEIR_DTYPE_INT16,
  WEIR_DTYPE_INT32,
  WEIR_DTYPE_INT64,
  WEIR_DTYPE_FLOAT16,
  WEIR_DTYPE_BFLOAT16,
  WEIR_DTYPE_FLOAT32,
  WEIR_DTYPE_FLOAT64,
  WEIR_DTYPE_UINT16,    /* unsigned integers, mostly as list elements     */
  WEIR_DTYPE_UINT32,
  WEIR_DTYPE_UINT64
};

/* Where a column's bytes live. */
enum {
  WEIR_DEVICE_CPU = 0,
  WEIR_DEVICE_CUDA = 1
};

#define WEIR_TENSOR_MAX_DIMS 8

typedef struct weir_block weir_block;

/* Blocks are shared by reference: weir_block_ref() adds one reference and
 * returns `b`; weir_block_unref() drops the reference held in `*b`, frees
 * the block when it was the last, and sets `*b` to NULL. Both are atomic
 * and may be called from any thread; unref accepts NULL and `*b == NULL`. */
WEIR_EXTERN weir_block *weir_block_ref(weir_block *b);
WEIR_EXTERN void        weir_block_unref(weir_block **b);

/* Rows and columns of `b` (0 for NULL). Any thread, as for every read of
 * a block: blocks never change once made. */
WEIR_EXTERN size_t weir_block_num_rows(const weir_block *b);
WEIR_EXTERN size_t weir_block_num_columns(const weir_block *b);

/* Bytes of all the buffers the block's rows occupy: values, offsets,
 * validity bitmaps and tensor data. A slice counts only its own rows, so the
 * memory budget sees what a block really keeps busy. */
WEIR_EXTERN size_t weir_block_nbytes(const weir_block *b);

/* Index of the first column called `name`, or WEIR_ENOTFOUND. */
WEIR_EXTERN int weir_block_column_index(const weir_block *b, const char *name);

/* A read-only view of one column. Pointers stay valid while the block lives.
 * For a STRING or BINARY column, row i is the bytes
 * [data + offsets[i], data + offsets[i + 1]); offsets[0] need not be 0 in a
 * slice. For BOOL, value i is bit i of `data` (least significant bit first);
 * for validity, a set bit means a valid (non-null) row. */
typedef struct weir_column {
  const char    *name;
  int            type;        /* WEIR_TYPE_* */
  size_t         length;      /* rows */
  const uint8_t *validity;    /* Arrow-style bitmap, NULL = no nulls */
  const void    *data;        /* values, or utf8/binary bytes, or tensor */
  const int64_t *offsets;     /* STRING/BINARY: length + 1 offsets */
  int            dtype;       /* TENSOR: WEIR_DTYPE_* */
  int            ndim;        /* TENSOR: per-row dimensions */
  int64_t        shape[WEIR_TENSOR_MAX_DIMS]; /* TENSOR: per-row shape */
  int            device;      /* WEIR_DEVICE_CPU or WEIR_DEVICE_CUDA */
  int            device_id;
  size_t         null_count;  /* rows that are null */
  void          *ready_event; /* CUDA: a cudaEvent_t to wait on before
                                 reading `data`, or NULL */
} weir_column;

/* List columns (WEIR_TYPE_LIST): row i is the list of elements
 * [offsets[i], offsets[i + 1]) of `data`, a contiguous array of elements of
 * `dtype` (any WEIR_DTYPE_*: int8..int64, uint8..uint64, float16, bfloat16,
 * float32, float64). `offsets` has length + 1 int64 entries counted in
 * elements, not bytes; offsets[0] need not be 0 in a slice. A null list
 * (validity bit clear) has offsets[i] == offsets[i + 1]; an empty list is
 * valid with no elements. Elements themselves are never null, and lists of
 * strings or booleans are not list columns (readers refuse them or read
 * them otherwise, as each reader documents). `ndim` is 0. Arrow export
 * gives `large_list` ("+L"); import takes `list` ("+l") and `large_list`
 * of a primitive child without nulls. A BFLOAT16 list travels as uint16
 * elements with the field metadata "weir:dtype":"bfloat16". The block's byte size counts the
 * offsets, the validity and the elements its rows span. */

/* Fills `out` with a view of column `index`. WEIR_EINVAL for a bad index.
 *
 * Structs that weir fills for the caller (weir_column, weir_op_stats,
 * weir_pipeline_stats) grow only at their end, and each call carries the
 * size of the caller's struct: the macro below passes sizeof(weir_column)
 * as the program's header defines it, and weir writes that many bytes, no
 * more. A program built against an older header keeps working with a newer
 * library (it gets the fields it knows), and one built against a newer
 * header gets the fields an older library lacks zeroed. The plain symbol
 * (for bindings that call it by name) fills the first layout, up to
 * `ready_event`. WEIR_EINVAL for a size smaller than that first layout. */
WEIR_EXTERN int weir_block_column_sized(const weir_block *b, size_t index,
                                        weir_column *out, size_t out_size);
WEIR_EXTERN int weir_block_column(const weir_block *b, size_t index,
                                  weir_column *out);
#define weir_block_column(b, index, out) \
  weir_block_column_sized((b), (index), (out), sizeof(weir_column))

/* 1 when row `row` of column `index` is valid (not null), 0 when null or
 * out of range. */
WEIR_EXTERN int weir_block_is_valid(const weir_block *b, size_t index,
                                    size_t row);

/* Bytes of one element of `dtype`, or 0 for an unknown dtype. */
WEIR_EXTERN size_t weir_dtype_size(int dtype);
/* Short names: "int64", "string", "tensor"...; "float32"... for dtypes. */
WEIR_EXTERN const char *weir_type_name(int type);
WEIR_EXTERN const char *weir_dtype_name(int dtype);

/* ---- Zero-copy views -------------------------------------------------- */

/* A new block in `*out` holding rows [offset, offset + length) of `b`,
 * sharing its buffers (only a validity or BOOL bitmap that does not start
 * on a byte boundary is re-packed). Borrows `b`. WEIR_EINVAL if the range
 * is out of bounds, WEIR_ENOMEM; `*out` is NULL on failure. */
WEIR_EXTERN int weir_block_slice(const weir_block *b, size_t offset,
                                 size_t length, weir_block **out);

/* A new block with the columns `indices[0..n)` of `b`, in that order,
 * sharing their buffers. Borrows `b`. WEIR_EINVAL for a bad index. */
WEIR_EXTERN int weir_block_select(const weir_block *b, const size_t *indices,
                                  size_t n, weir_block **out);

/* A new block equal to `b` with column `index` called `name`, sharing every
 * buffer. Borrows `b`. */
WEIR_EXTERN int weir_block_rename(const weir_block *b, size_t index,
                                  const char *name, weir_block **out);

/* A new block with the rows of blocks[0..n) one after another. All blocks
 * must have the same column names, types and tensor shapes (WEIR_EINVAL
 * otherwise). One block is returned as a new reference without copying.
 * Borrows the blocks. */
WEIR_EXTERN int weir_block_concat(weir_block *const *blocks, size_t n,
                                  weir_block **out);

/* A new block equal to `b` with the columns of `extra` appended after its
 * own, sharing every buffer; both must have the same number of rows.
 * Borrows both. */
WEIR_EXTERN int weir_block_add_columns(const weir_block *b,
                                       const weir_block *extra,
                                       weir_block **out);

/* A new block with the rows of `b` picked by `rows[0..n)` (any order,
 * repeats allowed). Copies the values. Borrows `b`. */
WEIR_EXTERN int weir_block_take(const weir_block *b, const uint32_t *rows,
                                size_t n, weir_block **out);

/* A block with no columns and no rows, shared and never freed. */
WEIR_EXTERN weir_block *weir_block_empty(void);

/* ---- Builder ---------------------------------------------------------- */

/* Builds a block by appending rows value by value, or many values at once.
 * A builder belongs to one thread at a time. Every append to one column
 * adds one row to that column; weir_builder_finish() checks that all columns
 * have the same number of rows. On a wrong type, a wrong column index or a
 * wrong size the call returns WEIR_EINVAL, changes nothing, and
 * weir_builder_errmsg() says what was wrong. */
typedef struct weir_builder weir_builder;

/* Makes an empty builder in `*out` (WEIR_ENOMEM when memory runs out);
 * destroy frees it with the rows not yet finished, and accepts NULL. */
WEIR_EXTERN int  weir_builder_create(weir_builder **out);
WEIR_EXTERN void weir_builder_destroy(weir_builder *bld);

/* Adds a column of `type` (any WEIR_TYPE_* but TENSOR and LIST) after the existing
 * ones; its index is the number of columns before the call. `name` is
 * copied. */
WEIR_EXTERN int weir_builder_add_column(weir_builder *bld, const char *name,
                                        int type);
/* A TENSOR column whose rows have `ndim` (1..8) dimensions `shape`. */
WEIR_EXTERN int weir_builder_add_tensor_column(weir_builder *bld,
                                               const char *name, int dtype,
                                               int ndim, const int64_t *shape);

/* A LIST column whose elements are of `dtype` (any WEIR_DTYPE_*). */
WEIR_EXTERN int weir_builder_add_list_column(weir_builder *bld,
                                             const char *name, int dtype);
/* LIST columns: appends one row holding the `n` elements at `values`
 * (copied; of the column's dtype). `values` may be NULL when `n` is 0 (an
 * empty list). A null list is weir_builder_append_null(). */
WEIR_EXTERN int weir_builder_append_list(weir_builder *bld, size_t col,
                                         const void *values, size_t n);

/* INT32 (range-checked), INT64 and BOOL (0 or not) columns. */
WEIR_EXTERN int weir_builder_append_int64(weir_builder *bld, size_t col,
                                          int64_t v);
/* FLOAT32 and FLOAT64 columns. */
WEIR_EXTERN int weir_builder_append_float64(weir_builder *bld, size_t col,
                                            double v);
WEIR_EXTERN int weir_builder_append_bool(weir_builder *bld, size_t col, int v);
/* STRING (must be valid UTF-8) and BINARY columns; copies `len` bytes. */
WEIR_EXTERN int weir_builder_append_string(weir_builder *bld, size_t col,
                                           const char *s, size_t len);
/* TENSOR columns: copies one row's worth of elements from `data`. */
WEIR_EXTERN int weir_builder_append_tensor(weir_builder *bld, size_t col,
                                           const void *data);
/* TENSOR columns: appends one row left uninitialised and sets `*data` to
 * where its elements go, so a decoder can write in place. The pointer is
 * valid until the next call on this builder. */
WEIR_EXTERN int weir_builder_append_tensor_slot(weir_builder *bld, size_t col,
                                                void **data);
/* Any column: appends a null row (zeros, an empty string or list, or a
 * zero tensor, marked invalid). */
WEIR_EXTERN int weir_builder_append_null(weir_builder *bld, size_t col);

/* Columnar fills: appends `n` values of the column's own representation
 * (int32_t, int64_t, float, double; for TENSOR `n` whole rows of elements).
 * Not for STRING, BINARY, BOOL or LIST. */
WEIR_EXTERN int weir_builder_append_values(weir_builder *bld, size_t col,
                                           const void *values, size_t n);

/* Reserves room for `rows` more rows in every column. */
WEIR_EXTERN int weir_builder_reserve(weir_builder *bld, size_t rows);

/* Rows appended so far to column `col` (0 for a bad index). */
WEIR_EXTERN size_t weir_builder_num_rows(const weir_builder *bld, size_t col);
WEIR_EXTERN size_t weir_builder_num_columns(const weir_builder *bld);

/* Hands the finished block to `*out` and resets the builder to no columns,
 * ready to build another block. WEIR_EINVAL if the columns have different
 * numbers of rows (the builder is then left as it was). */
WEIR_EXTERN int weir_builder_finish(weir_builder *bld, weir_block **out);

/* What the last failed call on `bld` got wrong; "" after success. */
WEIR_EXTERN const char *weir_builder_errmsg(const weir_builder *bld);

WEIR_END_DECLS

#endif /* WEIR_BLOCK_H */
