/* Streaming decompression of .zst and .gz inputs and compression of
 * outputs, layered on the vfs byte streams. Never holds a whole file. */
#ifndef WEIR_IO_CODEC_H
#define WEIR_IO_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "io/vfs.h"

enum { WEIR__CODEC_NONE = 0, WEIR__CODEC_ZSTD, WEIR__CODEC_GZIP };

/* The codec a name's suffix asks for: ".zst"/".zstd" or ".gz". */
int weir__codec_from_name(const char *uri);
/* The suffix of `codec` (".zst", ".gz" or ""). */
const char *weir__codec_suffix(int codec);

/* A reader of the decompressed bytes of an object. */
typedef struct weir__dstream weir__dstream;

/* Opens `uri` and decompresses it with `codec`. Byte ranges
 * (`offset`, `length`) only make sense for WEIR__CODEC_NONE. */
int weir__dstream_open(const char *uri, const weir__io_config *cfg,
                       int codec, uint64_t offset, uint64_t length,
                       weir__dstream **out, char *err, size_t errlen);
/* Fills up to `len` bytes: > 0 read, 0 at the end, < 0 a WEIR_E* code
 * (WEIR_EFORMAT for a corrupt or truncated stream) with the detail, which
 * names the uri, in weir__dstream_errmsg(). */
long weir__dstream_read(weir__dstream *d, void *buf, size_t len);
const char *weir__dstream_errmsg(const weir__dstream *d);
void weir__dstream_close(weir__dstream *d);

/* A writer that compresses into a weir__wstream. */
typedef struct weir__cstream weir__cstream;
/* Takes `ws` (aborted on failure). `level` 0 = the codec's default. */
int weir__cstream_open(weir__wstream *ws, int codec, int level,
                       weir__cstream **out);
int weir__cstream_write(weir__cstream *c, const void *buf, size_t len);
/* Bytes handed to weir__cstream_write so far (before compression). */
uint64_t weir__cstream_bytes_in(const weir__cstream *c);
/* Ends the compressed stream and commits the object; frees `c`. */
int weir__cstream_commit(weir__cstream *c, char *err, size_t errlen);
/* Discards everything; frees `c`. Accepts NULL. */
void weir__cstream_abort(weir__cstream *c);
const char *weir__cstream_errmsg(const weir__cstream *c);

#endif /* WEIR_IO_CODEC_H */
