/* The Arrow C Data and C Stream Interfaces, as the Arrow project defines
 * them (https://arrow.apache.org/docs/format/CDataInterface.html), plus
 * weir's conversions between blocks and Arrow arrays. */
#ifndef WEIR_ARROW_ABI_H
#define WEIR_ARROW_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "weir/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema *);
  /* Opaque producer-specific data */
  void *private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  /* Callbacks providing stream functionality */
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);

  /* Release callback */
  void (*release)(struct ArrowArrayStream *);

  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

#ifdef __cplusplus
}
#endif

WEIR_BEGIN_DECLS

struct weir_block;

/* Exports `b` as an Arrow struct array without copying: the array holds a
 * reference to the block's buffers, so it stays valid after the caller
 * drops its own reference to `b`, until the consumer calls the release
 * callbacks (each exactly once). TENSOR columns become FixedSizeList arrays
 * with the canonical extension type `arrow.fixed_shape_tensor`. Only host
 * columns can be exported this way (WEIR_EINVAL for device columns). On
 * error neither output is touched. Borrows `b`.
 *
 * Formats: BOOL "b", INT32 "i", INT64 "l", FLOAT32 "f", FLOAT64 "g",
 * STRING "U" and BINARY "Z" (the large types: weir offsets are int64),
 * TENSOR "+w:N" (N elements a row) of "C" "c" "s" "i" "l" "e" "f" "g";
 * Arrow has no bfloat16, so BFLOAT16 travels as uint16 "S" with
 * "weir_dtype":"bfloat16" in the extension metadata next to "shape", and
 * again as the field metadata "weir:dtype":"bfloat16", which survives
 * consumers (pyarrow) that rewrite the extension's JSON and drop the key.
 * Every array node has its own private data, so a consumer may move
 * children out and release them in any order, on any thread. `schema` may
 * be NULL to export the array alone. Any thread may call this. */
WEIR_EXTERN int weir_block_to_arrow(const struct weir_block *b,
                                    struct ArrowArray *array,
                                    struct ArrowSchema *schema);

/* Imports an Arrow struct array (or a record batch) as a block, without
 * copying: the block's buffers keep the array alive and release it when
 * the last of them goes. Moves both in: on success and on failure the
 * inputs are released (their `release` set to NULL), so the caller never
 * releases them. WEIR_EFORMAT for malformed input: a bad format string, a
 * wrong number of buffers or children, negative or inconsistent lengths,
 * offsets out of range, an offset + length of 2^56 or more elements
 * (more than any address space could hold); WEIR_ENOTSUP for a valid Arrow type weir does not
 * hold. weir_last_errmsg() names the column and what was wrong.
 *
 * Accepts the formats weir_block_to_arrow() writes, plus "u" and "z"
 * (32-bit offsets, widened into a new int64 offsets buffer: a copy of the
 * offsets only, never of the bytes) and a FixedSizeList without the
 * extension (a 1-d tensor). Offsets of the struct and of its children
 * (slices) are honoured; a bitmap that does not start on a byte boundary
 * is re-packed. A struct's own nulls are folded into every column (a null
 * struct row becomes a null in each column), since a block has no row
 * validity of its own. A top-level array that is not a struct becomes a
 * block of one column named after the schema's field. Null tensor
 * elements are accepted only inside null rows; a permuted
 * fixed_shape_tensor, dictionaries and other Arrow types give
 * WEIR_ENOTSUP. String offsets are checked to be non-negative and
 * non-decreasing, and the bytes up to the last offset are taken to exist:
 * the C Data Interface carries no buffer sizes, so a producer whose
 * buffers are shorter than its lengths say cannot be caught by any
 * consumer. String bytes are not checked for UTF-8 (that would read every
 * byte; Arrow producers guarantee it). Any thread may call this;
 * the array may be released on whichever thread drops the last block. */
WEIR_EXTERN int weir_block_from_arrow(struct ArrowArray *array,
                                      struct ArrowSchema *schema,
                                      struct weir_block **out);

/* Exports blocks[0..n) (all with the same schema, else WEIR_EINVAL) as an
 * Arrow stream; the stream holds its own references and drops each block
 * once get_next has exported it. An empty stream's schema is a struct of
 * no columns. Like every ArrowArrayStream it is for one thread at a time;
 * the arrays it hands out are independent of it. Borrows the blocks. */
WEIR_EXTERN int weir_blocks_to_arrow_stream(struct weir_block *const *blocks,
                                            size_t n,
                                            struct ArrowArrayStream *out);

/* Reads the next batch of an Arrow stream as a block; WEIR_EOF at the end.
 * The stream stays owned by the caller. A failing producer callback gives
 * WEIR_EIO (WEIR_ENOMEM for ENOMEM) with the producer's get_last_error()
 * text in weir_last_errmsg(); a malformed batch gives what
 * weir_block_from_arrow() gives. */
WEIR_EXTERN int weir_arrow_stream_next(struct ArrowArrayStream *stream,
                                       struct weir_block **out);

WEIR_END_DECLS

#endif /* WEIR_ARROW_ABI_H */
