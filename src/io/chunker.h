/* Cuts a (decompressed) byte stream into chunks of whole lines or whole
 * CSV records, so that parsing can run on other workers than reading, and
 * byte ranges of one big file can be read as separate tasks. */
#ifndef WEIR_IO_CHUNKER_H
#define WEIR_IO_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "core/block_internal.h"
#include "io/bufpool.h"
#include "io/codec.h"

/* Bytes of readable padding after every chunk, so that parsers may load 16
 * or 32 bytes at a time past the last newline. */
#define WEIR__CHUNK_PAD 64

typedef struct weir__chunker weir__chunker;

typedef struct weir__chunk {
  weir__buffer *buf;   /* owned by the receiver: data is buf->data */
  size_t len;          /* bytes of whole records; the last byte is '\n' */
  size_t records;      /* newlines in it (CSV: outside quotes) */
  uint64_t first_line; /* 1-based line of its first byte; 0 = unknown */
  uint64_t offset;     /* byte offset of its first byte in the stream */
} weir__chunk;

/* `max_records` bounds the records of a chunk (0 = none) and `max_bytes`
 * its size (a longer record still makes one chunk). For a byte range
 * [offset, offset + length) of an uncompressed object, the chunker yields
 * exactly the records that start inside it. `csv` = 1 makes newlines
 * inside double quotes part of the record. */
/* Chunk buffers come from `pool` (may be NULL) and go back to it when the
 * blocks holding them are freed. */
int weir__chunker_open(const char *uri, const weir__io_config *cfg, int codec,
                       uint64_t offset, uint64_t length, size_t max_records,
                       size_t max_bytes, int csv, weir__bufpool *pool,
                       weir__chunker **out, char *err, size_t errlen);
/* 1 with a chunk in `*c`, 0 at the end, < 0 an error (the message names
 * the uri) in weir__chunker_errmsg(). */
int weir__chunker_next(weir__chunker *ch, weir__chunk *c);
const char *weir__chunker_errmsg(const weir__chunker *ch);
/* The size of the buffer the next chunk is read into (it grows for a
 * long record, and holds the start of the next record already read). */
size_t weir__chunker_buffer_bytes(const weir__chunker *ch);
void weir__chunker_close(weir__chunker *ch);



#include "weir/block.h"

/* A one-row block carrying a chunk to a parsing operator: "chunk" (BINARY,
 * sharing c->buf, which it takes), "file" (the task's object index),
 * "line" and "offset" (INT64). */
int weir__chunk_block(weir__chunk *c, size_t file, weir_block **out);

/* What a parsing operator reads back from such a block. */
typedef struct weir__chunk_view {
  const char *data;    /* followed by WEIR__CHUNK_PAD readable bytes */
  size_t len;
  size_t file;
  uint64_t line, offset;
} weir__chunk_view;
int weir__chunk_view_of(const weir_block *b, weir__chunk_view *v);
#endif /* WEIR_IO_CHUNKER_H */
