/* Internal layout of blocks and their reference-counted buffers, shared by
 * every component that builds blocks without the public builder. */
#ifndef WEIR_CORE_BLOCK_INTERNAL_H
#define WEIR_CORE_BLOCK_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"

/* A buffer is a run of bytes with its own reference count, so blocks that
 * pass a column through (slices, selections, renames, Arrow exports) share
 * it instead of copying. `release` frees what `data` points into: the
 * default frees an aligned allocation; an Arrow import releases the
 * imported array; a CUDA buffer returns device memory to its pool. */
typedef struct weir__buffer weir__buffer;
typedef void (*weir__buffer_release_fn)(void *opaque, void *data, size_t size);

struct weir__buffer {
  atomic_long refs;
  void *data;
  size_t size;
  weir__buffer_release_fn release;
  void *opaque;
  int device;      /* WEIR_DEVICE_CPU or WEIR_DEVICE_CUDA */
  int device_id;
  int pinned;      /* host memory pinned by CUDA (DLPack: kDLCUDAHost) */
  /* What a component derived from the bytes and keeps with them (the text
   * component's word analysis of the documents), freed with the buffer:
   * every block that shares the buffer sees it. Set once. */
  _Atomic(void *) attach;
  void (*attach_free)(void *);
};

/* Attaches `data` (freed by `free_fn` with the buffer) unless something is
 * attached already; returns the attachment now in place, which is `data`
 * or the earlier one (then the caller still owns `data`). */
void *weir__buffer_attach(weir__buffer *buf, void *data, void (*free_fn)(void *));
static inline void *weir__buffer_attachment(const weir__buffer *buf) {
  return buf ? atomic_load_explicit(&((weir__buffer *)buf)->attach, memory_order_acquire) : NULL;
}

/* A zero-filled host buffer of `size` bytes, 64-byte aligned; NULL when out
 * of memory. A size of 0 still gives a valid (empty) buffer. */
weir__buffer *weir__buffer_alloc(size_t size);
/* Takes ownership of `data`: `release(opaque, data, size)` runs when the
 * last reference goes (release may be NULL for memory that outlives the
 * buffer). */
weir__buffer *weir__buffer_wrap(void *data, size_t size,
                                weir__buffer_release_fn release, void *opaque);
/* The release function of memory from malloc, realloc or aligned_alloc:
 * free(data). */
void weir__buffer_release_free(void *opaque, void *data, size_t size);
weir__buffer *weir__buffer_ref(weir__buffer *buf);
void weir__buffer_unref(weir__buffer *buf);

/* One column of a block. The pointers point into the buffers (possibly
 * past their start, for slices); each buffer pointer holds one reference. */
typedef struct weir__column {
  char *name;                       /* owned */
  int type;                         /* WEIR_TYPE_* */
  int dtype;                        /* TENSOR */
  int ndim;                         /* TENSOR */
  int64_t shape[WEIR_TENSOR_MAX_DIMS];
  size_t length;
  size_t null_count;
  weir__buffer *validity_buf;       /* NULL when no row is null */
  const uint8_t *validity;          /* bit 0 is row 0 */
  weir__buffer *data_buf;
  const uint8_t *data;              /* BOOL: bit 0 is row 0 */
  weir__buffer *offsets_buf;        /* STRING/BINARY/LIST */
  const int64_t *offsets;           /* length + 1 entries (LIST: in elements) */
  int device;
  int device_id;
  void *ready_event;                /* CUDA event to wait on, or NULL */
} weir__column;

struct weir_block {
  atomic_long refs;
  size_t num_rows;
  size_t num_columns;
  size_t nbytes;
  weir__column cols[];
};

/* A block with `num_columns` zeroed columns and one reference, for the
 * caller to fill; finish with weir__block_seal(). NULL when out of memory. */
weir_block *weir__block_alloc(size_t num_columns, size_t num_rows);
/* weir_block_slice for weir's own callers, returning the block: rows
 * [offset, offset + length) of `b`, or NULL (with the last error set) for
 * a range outside `b` or when memory runs out. */
weir_block *weir__block_slice(const weir_block *b, size_t offset, size_t length);
/* Computes the byte size once all columns are filled. */
void weir__block_seal(weir_block *b);
/* Copies the description of `src` (name, type, dtype, shape, device) into
 * `dst` without buffers; returns WEIR_ENOMEM if the name cannot be copied. */
int weir__column_copy_meta(weir__column *dst, const weir__column *src);
/* Adds a reference to every buffer of `src` into `dst` (metadata too). */
int weir__column_share(weir__column *dst, const weir__column *src);
/* Drops the buffers and the name of `col`. */
void weir__column_clear(weir__column *col);
/* Bytes of one row of a fixed-width column (a TENSOR row's elements);
 * 0 for BOOL, STRING and BINARY. */
size_t weir__column_row_bytes(const weir__column *col);
/* 1 for the types whose rows are runs given by `offsets`. */
static inline int weir__type_has_offsets(int type) {
  return type == WEIR_TYPE_STRING || type == WEIR_TYPE_BINARY || type == WEIR_TYPE_LIST;
}
/* Bytes per offset unit of a column with offsets: 1 for STRING/BINARY, the
 * element size for LIST. */
size_t weir__column_value_unit(const weir__column *col);
/* 1 when two columns have the same name, type, dtype and shape. */
int weir__column_same_schema(const weir__column *a, const weir__column *b);
/* "'frame' tensor uint8 [480, 640, 3]", "'id' int64": a column's name and
 * type for messages. */
void weir__column_describe(const weir__column *c, char *buf, size_t n);
/* The index of the first of blocks[1..n) whose columns differ from
 * blocks[0]'s (and that column in *col), or 0 when all match. */
size_t weir__blocks_first_mismatch(const weir_block *const *blocks, size_t n, size_t *col);

/* 1 when any column of `b` lives on a CUDA device (block.c). */
int weir__block_on_device(const weir_block *b);
/* 1 when `err` is a failure code of the error list (weir/error.h): any
 * code but OK and EOF, including codes appended later. */
int weir__err_is_failure(int err);
/* Records a detail message for weir_last_errmsg() on this thread and
 * returns `err`, so it can end a `return` statement. */
int weir__set_last_error(int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Bit helpers for Arrow-style bitmaps. */
static inline int weir__bit_get(const uint8_t *bits, size_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void weir__bit_set(uint8_t *bits, size_t i, int v) {
  if (v)
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
  else
    bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

#endif /* WEIR_CORE_BLOCK_INTERNAL_H */
