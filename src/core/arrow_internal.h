/* Helpers shared by the Arrow C Data / C Stream export and import: format
 * strings, the binary schema metadata encoding and the little JSON of the
 * `arrow.fixed_shape_tensor` extension. */
#ifndef WEIR_CORE_ARROW_INTERNAL_H
#define WEIR_CORE_ARROW_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weir/arrow_abi.h"
#include "core/block_internal.h"

#define WEIR__TENSOR_EXT_NAME "arrow.fixed_shape_tensor"
#define WEIR__EXT_NAME_KEY "ARROW:extension:name"
#define WEIR__EXT_META_KEY "ARROW:extension:metadata"
/* A field metadata key naming a tensor dtype Arrow lacks ("bfloat16"):
 * consumers such as pyarrow rewrite the extension's own JSON in their
 * canonical form and drop keys they do not know, but keep the field's
 * other metadata, so the dtype survives a trip through them. */
#define WEIR__DTYPE_KEY "weir:dtype"

/* The Arrow format string of a scalar column type ("b", "i", "U"...), or
 * NULL for TENSOR and unknown types. */
const char *weir__arrow_format_of_type(int type);
/* The format string of a tensor element type ("C", "e", ...). BFLOAT16 has
 * no Arrow type and travels as its uint16 storage "S". */
const char *weir__arrow_format_of_dtype(int dtype);
/* The WEIR_DTYPE_* of a tensor element format, 0 if weir has none; "S"
 * (uint16) maps to 0 since it only means BFLOAT16 with weir's metadata. */
int weir__arrow_dtype_of_format(const char *format);
/* 1 when `format` is a format string the Arrow C Data Interface defines
 * (whether or not weir holds that type), 0 when it is garbage. Tells
 * WEIR_ENOTSUP apart from WEIR_EFORMAT on import. */
int weir__arrow_format_is_known(const char *format);
/* The Arrow type a known format string stands for, in the words of
 * Arrow's documentation ("int8", "string_view", "decimal128(10, 2)",
 * "struct"...), written to `buf`; the format itself when it is unknown.
 * Returns `buf`. For error messages. */
const char *weir__arrow_format_describe(const char *format, char *buf,
                                        size_t cap);

/* Encodes key/value pairs in the C Data Interface's binary metadata layout
 * (int32 count, then int32 length + bytes for each key and value, native
 * endianness) into a new malloc'd buffer; NULL when out of memory. */
char *weir__arrow_metadata_encode(const char *const *keys,
                                  const char *const *values, int n);
/* Finds `key` in binary metadata that came from an untrusted producer.
 * Returns 1 and points `*value`/`*len` at the value (not NUL-terminated)
 * when found, 0 when absent, WEIR_EFORMAT when the encoding is broken.
 * Arrow's binary metadata carries no total size, so the walk can only
 * reject negative counts and lengths; it trusts the rest to stay within
 * the producer's allocation, as every Arrow consumer must. */
int weir__arrow_metadata_find(const char *metadata, const char *key,
                              const char **value, int32_t *len);

/* The JSON of a weir TENSOR column's extension metadata:
 * {"shape":[2,3]} or {"shape":[2,3],"weir_dtype":"bfloat16"}. Writes at
 * most `cap` bytes including the NUL; returns the length or -1. */
int weir__tensor_meta_json(const int64_t *shape, int ndim, int dtype,
                           char *out, size_t cap);

/* What the extension metadata of a fixed_shape_tensor says. */
typedef struct weir__tensor_meta {
  int ndim;
  int64_t shape[WEIR_TENSOR_MAX_DIMS];
  int bfloat16;        /* "weir_dtype":"bfloat16" was present */
  int permuted;        /* a "permutation" other than the identity */
} weir__tensor_meta;
/* Parses the JSON object in `json[0..len)`. WEIR_EFORMAT for bad JSON, a
 * missing or negative shape; WEIR_ENOTSUP for more than 8 dimensions or
 * a weir_dtype weir does not know. A message is left with
 * weir__set_last_error naming `column`. */
int weir__tensor_meta_parse(const char *json, size_t len, const char *column,
                            weir__tensor_meta *out);

/* The halves of weir_block_to_arrow(), for the stream exporter: both fail
 * (with a message) for device columns and leave the output untouched on
 * error. */
int weir__block_check_exportable(const weir_block *b);
int weir__block_export_array(const weir_block *b, struct ArrowArray *array);
int weir__block_export_schema(const weir_block *b, struct ArrowSchema *schema);

/* Maps a WEIR_E* code to the errno value that the C Stream Interface's
 * callbacks return. */
int weir__arrow_errno_of(int weir_err);

/* The stream's schema, asked once: get_schema's result, or a failure with
 * the producer's message (as weir_arrow_stream_next words it). */
int weir__arrow_stream_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out);
/* weir_arrow_stream_next() with a schema asked once before (borrowed): each
 * batch is imported with a deep copy of it instead of a get_schema call
 * per batch. */
int weir__arrow_stream_next_with(struct ArrowArrayStream *stream,
                                 const struct ArrowSchema *schema, weir_block **out);

#endif /* WEIR_CORE_ARROW_INTERNAL_H */
