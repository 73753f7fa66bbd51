/* Cutting decompressed byte streams into chunks of whole lines or records,
 * in buffers that become block data without a copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/mem.h"
#include "io/chunker.h"

struct weir__chunker {
  weir__dstream *d;
  char *uri;
  unsigned char *buf;   /* the chunk being filled */
  size_t cap, len;      /* room (without padding) and bytes held */
  size_t scanned;       /* bytes of buf already scanned for record ends */
  size_t records;       /* record ends found in [0, scanned) */
  size_t last_end;      /* index after the last record end found */
  int in_quotes;        /* CSV quote state at `scanned` */
  size_t max_records, max_bytes;
  int csv;
  int eof;
  int done;
  uint64_t pos;         /* stream offset of buf[0] */
  uint64_t range_end;   /* records starting at or after it are not ours */
  uint64_t line;        /* line of buf[0]; 0 = unknown */
  int skip_partial;     /* drop bytes up to the first newline */
  weir__bufpool *pool;
  char errmsg[WEIR__STREAM_ERRLEN];
};

static int alloc_buf(weir__chunker *ch, size_t cap) {
  size_t got;
  unsigned char *b = weir__bufpool_get(ch->pool, cap + WEIR__CHUNK_PAD, &got);
  if (!b) return WEIR_ENOMEM;
  ch->buf = b;
  ch->cap = got - WEIR__CHUNK_PAD;
  return WEIR_OK;
}

int weir__chunker_open(const char *uri, const weir__io_config *cfg, int codec,
                       uint64_t offset, uint64_t length, size_t max_records,
                       size_t max_bytes, int csv, weir__bufpool *pool,
                       weir__chunker **out, char *err, size_t errlen) {
  *out = NULL;
  weir__chunker *ch = calloc(1, sizeof *ch);
  if (!ch) return WEIR_ENOMEM;
  ch->pool = pool;
  ch->uri = strdup(uri);
  ch->max_records = max_records;
  ch->max_bytes = max_bytes ? max_bytes : (64u << 20);
  ch->csv = csv;
  size_t first = ch->max_bytes < (1u << 20) ? ch->max_bytes : (1u << 20);
  if (!ch->uri || alloc_buf(ch, first)) {
    weir__chunker_close(ch);
    return WEIR_ENOMEM;
  }
  /* A range that does not start the object starts one byte early: if that
   * byte is a newline, the record at `offset` is ours. */
  uint64_t start = offset ? offset - 1 : 0;
  uint64_t len = length;
  if (offset && length != UINT64_MAX) len = length + 1;
  ch->skip_partial = offset > 0;
  ch->pos = start;
  ch->range_end = length == UINT64_MAX ? UINT64_MAX : offset + length;
  ch->line = offset ? 0 : 1;
  /* Records may run past the end of the range: read to the object's end
   * and stop at the first record that starts outside. */
  (void)len;
  int rc = weir__dstream_open(uri, cfg, codec, start, UINT64_MAX, &ch->d, err,
                              errlen);
  if (rc) {
    weir__chunker_close(ch);
    return rc;
  }
  *out = ch;
  return WEIR_OK;
}

const char *weir__chunker_errmsg(const weir__chunker *ch) { return ch->errmsg; }

size_t weir__chunker_buffer_bytes(const weir__chunker *ch) {
  return ch && ch->buf ? ch->cap + WEIR__CHUNK_PAD : 0;
}

void weir__chunker_close(weir__chunker *ch) {
  if (!ch) return;
  weir__dstream_close(ch->d);
  if (ch->buf) weir__bufpool_put(ch->pool, ch->buf, ch->cap + WEIR__CHUNK_PAD);
  free(ch->uri);
  free(ch);
}

/* Reads more bytes into buf, growing it when full. */
static int fill(weir__chunker *ch) {
  if (ch->len == ch->cap) {
    size_t cap = ch->cap * 2;
    unsigned char *b = weir__mem_realloc(ch->buf, cap + WEIR__CHUNK_PAD);
    if (!b) return WEIR_ENOMEM;
    ch->buf = b;
    ch->cap = cap;
  }
  long r = weir__dstream_read(ch->d, ch->buf + ch->len, ch->cap - ch->len);
  if (r < 0) {
    snprintf(ch->errmsg, sizeof ch->errmsg, "%s", weir__dstream_errmsg(ch->d));
    return (int)r;
  }
  if (r == 0) ch->eof = 1;
  ch->len += (size_t)r;
  return WEIR_OK;
}

/* Scans new bytes for record ends; stops early once the chunk is full
 * (enough records, or a record that starts past the range). Returns 1 when
 * the chunk should be cut at last_end. */
static int scan(weir__chunker *ch) {
  unsigned char *b = ch->buf;
  size_t i = ch->scanned, n = ch->len;
  while (i < n) {
    if (!ch->csv) {
      unsigned char *nl = memchr(b + i, '\n', n - i);
      if (!nl) {
        i = n;
        break;
      }
      i = (size_t)(nl - b) + 1;
    } else {
      unsigned char c = b[i++];
      if (c == '"') {
        ch->in_quotes = !ch->in_quotes;
        continue;
      }
      if (c != '\n' || ch->in_quotes) continue;
    }
    ch->records++;
    ch->last_end = i;
    if ((ch->max_records && ch->records >= ch->max_records) ||
        ch->pos + i >= ch->range_end) {
      ch->scanned = i;
      return 1;
    }
  }
  ch->scanned = i;
  return ch->last_end >= ch->max_bytes && ch->last_end > 0;
}

static int skip_partial(weir__chunker *ch) {
  for (;;) {
    unsigned char *nl = memchr(ch->buf, '\n', ch->len);
    if (nl) {
      size_t k = (size_t)(nl - ch->buf) + 1;
      memmove(ch->buf, ch->buf + k, ch->len - k);
      ch->len -= k;
      ch->pos += k;
      ch->skip_partial = 0;
      return WEIR_OK;
    }
    ch->pos += ch->len;
    ch->len = 0;
    if (ch->eof) {
      ch->skip_partial = 0;
      return WEIR_OK;
    }
    int rc = fill(ch);
    if (rc) return rc;
  }
}

static size_t count_newlines(const unsigned char *p, size_t n) {
  size_t c = 0;
  const unsigned char *e = p + n;
  while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    c++;
    p++;
  }
  return c;
}

int weir__chunker_next(weir__chunker *ch, weir__chunk *c) {
  memset(c, 0, sizeof *c);
  if (ch->done) return 0;
  if (ch->skip_partial) {
    int rc = skip_partial(ch);
    if (rc) return rc;
  }
  if (ch->pos >= ch->range_end) {
    ch->done = 1;
    return 0;
  }
  int cut = scan(ch);
  while (!cut && !ch->eof) {
    int rc = fill(ch);
    if (rc) return rc;
    cut = scan(ch);
  }
  size_t end = ch->last_end;
  if (!cut && ch->eof) {
    if (ch->len > end) {
      /* The last record has no newline: add one (the padding has room). */
      if (ch->csv && ch->in_quotes) {
        snprintf(ch->errmsg, sizeof ch->errmsg,
                 "%s: the file ends inside a quoted field", ch->uri);
        return WEIR_EFORMAT;
      }
      ch->buf[ch->len] = '\n';
      ch->len++;
      ch->records++;
      end = ch->len;
    }
    ch->done = 1;
    if (end == 0) return 0;
  }
  /* The bytes after the cut start the next chunk, in a new buffer: this
   * one now belongs to the block. */
  unsigned char *old = ch->buf;
  size_t oldcap = ch->cap;
  size_t rest = ch->len - end;
  size_t newcap = ch->cap < rest ? rest : ch->cap;
  if (ch->max_bytes < newcap && rest <= ch->max_bytes) newcap = ch->max_bytes;
  if (newcap == 0) newcap = 1;
  if (alloc_buf(ch, newcap)) {
    ch->buf = old;
    return WEIR_ENOMEM;
  }
  memcpy(ch->buf, old + end, rest);
  memset(old + end, 0, WEIR__CHUNK_PAD);
  /* A buffer that doubled past the chunk size for a long record gives
   * back the pages past the chunk, so the chunk block holds what it
   * counts. Buffers of the usual size stay whole for the pool to reuse. */
  if (oldcap > ch->max_bytes && oldcap > end + end / 4) {
    old = weir__mem_realloc(old, end + WEIR__CHUNK_PAD);
    oldcap = end;
  }
  c->buf = weir__bufpool_wrap(ch->pool, old, oldcap + WEIR__CHUNK_PAD, end);
  if (!c->buf) return WEIR_ENOMEM;
  c->len = end;
  c->records = ch->records;
  c->first_line = ch->line;
  c->offset = ch->pos;
  if (ch->line) {
    /* CSV records may span lines; count real newlines for line numbers. */
    ch->line += ch->csv ? count_newlines(old, end) : ch->records;
  }
  ch->pos += end;
  ch->len = rest;
  ch->scanned = 0;
  ch->records = 0;
  ch->last_end = 0;
  ch->in_quotes = 0;
  if (ch->pos >= ch->range_end) ch->done = 1;
  return 1;
}

static int int_column(weir__column *col, const char *name, int64_t v) {
  col->name = strdup(name);
  col->type = WEIR_TYPE_INT64;
  col->length = 1;
  col->data_buf = weir__buffer_alloc(sizeof v);
  if (!col->name || !col->data_buf) return WEIR_ENOMEM;
  memcpy(col->data_buf->data, &v, sizeof v);
  col->data = col->data_buf->data;
  return WEIR_OK;
}

int weir__chunk_block(weir__chunk *c, size_t file, weir_block **out) {
  *out = NULL;
  weir_block *b = weir__block_alloc(4, 1);
  if (!b) {
    weir__buffer_unref(c->buf);
    c->buf = NULL;
    return WEIR_ENOMEM;
  }
  weir__column *col = &b->cols[0];
  col->name = strdup("chunk");
  col->type = WEIR_TYPE_BINARY;
  col->length = 1;
  col->data_buf = c->buf;
  c->buf = NULL;
  col->data = col->data_buf->data;
  col->offsets_buf = weir__buffer_alloc(2 * sizeof(int64_t));
  int rc = col->name && col->offsets_buf ? WEIR_OK : WEIR_ENOMEM;
  if (rc == WEIR_OK) {
    int64_t *o = col->offsets_buf->data;
    o[0] = 0;
    o[1] = (int64_t)c->len;
    col->offsets = o;
    rc = int_column(&b->cols[1], "file", (int64_t)file);
  }
  if (rc == WEIR_OK) rc = int_column(&b->cols[2], "line", (int64_t)c->first_line);
  if (rc == WEIR_OK) rc = int_column(&b->cols[3], "offset", (int64_t)c->offset);
  if (rc != WEIR_OK) {
    weir_block_unref(&b);
    return rc;
  }
  weir__block_seal(b);
  *out = b;
  return WEIR_OK;
}

int weir__chunk_view_of(const weir_block *b, weir__chunk_view *v) {
  if (b->num_columns != 4 || b->num_rows != 1 ||
      b->cols[0].type != WEIR_TYPE_BINARY)
    return WEIR_EINVAL;
  const weir__column *c = &b->cols[0];
  v->data = (const char *)c->data + c->offsets[0];
  v->len = (size_t)(c->offsets[1] - c->offsets[0]);
  v->file = (size_t)((const int64_t *)b->cols[1].data)[0];
  v->line = (uint64_t)((const int64_t *)b->cols[2].data)[0];
  v->offset = (uint64_t)((const int64_t *)b->cols[3].data)[0];
  return WEIR_OK;
}
