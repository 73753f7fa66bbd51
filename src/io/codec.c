/* Streaming zstd and gzip decompression of inputs and compression of
 * outputs, over the vfs byte streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "weir/error.h"
#include "core/redact.h"
#include "io/codec.h"

#define IN_SIZE (1u << 18)

static int ends_with(const char *s, size_t a, const char *suf) {
  size_t b = strlen(suf);
  return a >= b && strncmp(s + a - b, suf, b) == 0;
}

int weir__codec_from_name(const char *uri) {
  /* The path's suffix counts, not the query's: a presigned URL ends in
   * "?X-Amz-Signature=...". */
  size_t n = weir__uri_path_len(uri);
  if (ends_with(uri, n, ".zst") || ends_with(uri, n, ".zstd")) return WEIR__CODEC_ZSTD;
  if (ends_with(uri, n, ".gz")) return WEIR__CODEC_GZIP;
  return WEIR__CODEC_NONE;
}

const char *weir__codec_suffix(int codec) {
  return codec == WEIR__CODEC_ZSTD ? ".zst"
         : codec == WEIR__CODEC_GZIP ? ".gz" : "";
}

struct weir__dstream {
  weir__rstream *in;
  int codec;
  char *uri;
  unsigned char *ibuf;
  size_t ipos, ilen;
  int in_eof;
  ZSTD_DCtx *zd;
  size_t zlast;      /* last ZSTD_decompressStream hint: 0 = frame complete */
  z_stream zs;
  int zs_init;
  int member_done;   /* gzip: the current member ended */
  int done;
  char errmsg[WEIR__STREAM_ERRLEN];
};

int weir__dstream_open(const char *uri, const weir__io_config *cfg,
                       int codec, uint64_t offset, uint64_t length,
                       weir__dstream **out, char *err, size_t errlen) {
  *out = NULL;
  weir__dstream *d = calloc(1, sizeof *d);
  if (!d) return WEIR_ENOMEM;
  d->codec = codec;
  d->uri = strdup(uri);
  if (!d->uri) {
    free(d);
    return WEIR_ENOMEM;
  }
  int rc = weir__rstream_open(uri, cfg, offset, length, &d->in, err, errlen);
  if (rc != WEIR_OK) {
    free(d->uri);
    free(d);
    return rc;
  }
  if (codec != WEIR__CODEC_NONE) {
    d->ibuf = malloc(IN_SIZE);
    if (!d->ibuf) goto nomem;
  }
  if (codec == WEIR__CODEC_ZSTD) {
    d->zd = ZSTD_createDCtx();
    if (!d->zd) goto nomem;
    /* Not 0: an input that ends before any frame is truncated too. */
    d->zlast = 1;
  } else if (codec == WEIR__CODEC_GZIP) {
    /* 15 + 32: a gzip or zlib header, detected automatically. */
    if (inflateInit2(&d->zs, 15 + 32) != Z_OK) goto nomem;
    d->zs_init = 1;
  }
  *out = d;
  return WEIR_OK;
nomem:
  weir__dstream_close(d);
  return WEIR_ENOMEM;
}

/* Refills the compressed input; returns < 0 on error. */
static int refill(weir__dstream *d) {
  if (d->ipos < d->ilen || d->in_eof) return WEIR_OK;
  long r = weir__rstream_read(d->in, d->ibuf, IN_SIZE);
  if (r < 0) {
    snprintf(d->errmsg, sizeof d->errmsg, "%s", weir__rstream_errmsg(d->in));
    return (int)r;
  }
  d->ipos = 0;
  d->ilen = (size_t)r;
  if (r == 0) d->in_eof = 1;
  return WEIR_OK;
}

static long read_zstd(weir__dstream *d, void *buf, size_t len) {
  ZSTD_outBuffer ob = {buf, len, 0};
  for (;;) {
    int rc = refill(d);
    if (rc < 0) return rc;
    if (d->ipos == d->ilen && d->in_eof && d->zlast == 0) {
      /* A frame ended exactly at the end of the input. */
      d->done = 1;
      return 0;
    }
    /* Called with empty input too: the decoder may still hold output. */
    ZSTD_inBuffer ib = {d->ibuf, d->ilen, d->ipos};
    size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);
    d->ipos = ib.pos;
    if (ZSTD_isError(r)) {
      snprintf(d->errmsg, sizeof d->errmsg, "%s: corrupt zstd data: %s",
               d->uri, ZSTD_getErrorName(r));
      return WEIR_EFORMAT;
    }
    d->zlast = r;
    if (ob.pos > 0) return (long)ob.pos;
    if (d->ipos == d->ilen && d->in_eof) {
      if (d->zlast != 0) {
        snprintf(d->errmsg, sizeof d->errmsg,
                 "%s: truncated zstd stream (the input ends inside a frame)",
                 d->uri);
        return WEIR_EFORMAT;
      }
      d->done = 1;
      return 0;
    }
  }
}

static long read_gzip(weir__dstream *d, void *buf, size_t len) {
  if (len > (1u << 30)) len = 1u << 30;
  d->zs.next_out = buf;
  d->zs.avail_out = (uInt)len;
  for (;;) {
    int rc = refill(d);
    if (rc < 0) return rc;
    if (d->member_done && d->ipos < d->ilen) {
      /* Concatenated gzip members form one stream (like `cat a.gz b.gz`). */
      inflateReset(&d->zs);
      d->member_done = 0;
    }
    if (!d->member_done) {
      d->zs.next_in = d->ibuf + d->ipos;
      d->zs.avail_in = (uInt)(d->ilen - d->ipos);
      int zr = inflate(&d->zs, Z_NO_FLUSH);
      d->ipos = d->ilen - d->zs.avail_in;
      if (zr == Z_STREAM_END) {
        d->member_done = 1;
      } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
        snprintf(d->errmsg, sizeof d->errmsg, "%s: corrupt gzip data: %s",
                 d->uri, d->zs.msg ? d->zs.msg : zError(zr));
        return WEIR_EFORMAT;
      }
    }
    if (d->zs.avail_out < len) return (long)(len - d->zs.avail_out);
    if (d->ipos == d->ilen && d->in_eof) {
      if (!d->member_done) {
        snprintf(d->errmsg, sizeof d->errmsg,
                 "%s: truncated gzip stream (the input ends inside a member)",
                 d->uri);
        return WEIR_EFORMAT;
      }
      d->done = 1;
      return 0;
    }
  }
}

long weir__dstream_read(weir__dstream *d, void *buf, size_t len) {
  if (d->done || len == 0) return 0;
  switch (d->codec) {
  case WEIR__CODEC_ZSTD: return read_zstd(d, buf, len);
  case WEIR__CODEC_GZIP: return read_gzip(d, buf, len);
  default: {
    long r = weir__rstream_read(d->in, buf, len);
    if (r < 0)
      snprintf(d->errmsg, sizeof d->errmsg, "%s", weir__rstream_errmsg(d->in));
    else if (r == 0)
      d->done = 1;
    return r;
  }
  }
}

const char *weir__dstream_errmsg(const weir__dstream *d) { return d->errmsg; }

void weir__dstream_close(weir__dstream *d) {
  if (!d) return;
  weir__rstream_close(d->in);
  if (d->zd) ZSTD_freeDCtx(d->zd);
  if (d->zs_init) inflateEnd(&d->zs);
  free(d->ibuf);
  free(d->uri);
  free(d);
}

/* ---- Compression ---------------------------------------------------------- */

#define OUT_SIZE (1u << 18)

struct weir__cstream {
  weir__wstream *ws;
  int codec;
  ZSTD_CCtx *zc;
  z_stream zs;
  int zs_init;
  unsigned char *obuf;
  uint64_t bytes_in;
  char errmsg[WEIR__STREAM_ERRLEN];
};

int weir__cstream_open(weir__wstream *ws, int codec, int level,
                       weir__cstream **out) {
  *out = NULL;
  weir__cstream *c = calloc(1, sizeof *c);
  if (!c) {
    weir__wstream_abort(ws);
    return WEIR_ENOMEM;
  }
  c->ws = ws;
  c->codec = codec;
  if (codec != WEIR__CODEC_NONE) {
    c->obuf = malloc(OUT_SIZE);
    if (!c->obuf) goto nomem;
  }
  if (codec == WEIR__CODEC_ZSTD) {
    c->zc = ZSTD_createCCtx();
    if (!c->zc) goto nomem;
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level ? level : 3);
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
  } else if (codec == WEIR__CODEC_GZIP) {
    /* 15 + 16: write a gzip header and trailer. */
    if (deflateInit2(&c->zs, level ? level : 6, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      goto nomem;
    c->zs_init = 1;
  }
  *out = c;
  return WEIR_OK;
nomem:
  weir__cstream_abort(c);
  return WEIR_ENOMEM;
}

static int put(weir__cstream *c, const void *p, size_t n) {
  int rc = weir__wstream_write(c->ws, p, n);
  if (rc < 0)
    snprintf(c->errmsg, sizeof c->errmsg, "%s", weir__wstream_errmsg(c->ws));
  return rc;
}

static int zstd_run(weir__cstream *c, const void *buf, size_t len,
                    ZSTD_EndDirective mode) {
  ZSTD_inBuffer ib = {buf, len, 0};
  for (;;) {
    ZSTD_outBuffer ob = {c->obuf, OUT_SIZE, 0};
    size_t r = ZSTD_compressStream2(c->zc, &ob, &ib, mode);
    if (ZSTD_isError(r)) {
      snprintf(c->errmsg, sizeof c->errmsg, "zstd compression failed: %s",
               ZSTD_getErrorName(r));
      return WEIR_EIO;
    }
    if (ob.pos) {
      int rc = put(c, c->obuf, ob.pos);
      if (rc < 0) return rc;
    }
    if (mode == ZSTD_e_end ? r == 0 : ib.pos == ib.size) return WEIR_OK;
  }
}

static int gzip_run(weir__cstream *c, const void *buf, size_t len, int flush) {
  c->zs.next_in = (Bytef *)buf;
  c->zs.avail_in = (uInt)len;
  for (;;) {
    c->zs.next_out = c->obuf;
    c->zs.avail_out = OUT_SIZE;
    int zr = deflate(&c->zs, flush);
    if (zr == Z_STREAM_ERROR) {
      snprintf(c->errmsg, sizeof c->errmsg, "gzip compression failed");
      return WEIR_EIO;
    }
    size_t have = OUT_SIZE - c->zs.avail_out;
    if (have) {
      int rc = put(c, c->obuf, have);
      if (rc < 0) return rc;
    }
    if (flush == Z_FINISH ? zr == Z_STREAM_END
                          : (c->zs.avail_in == 0 && c->zs.avail_out != 0))
      return WEIR_OK;
  }
}

int weir__cstream_write(weir__cstream *c, const void *buf, size_t len) {
  if (len == 0) return WEIR_OK;
  c->bytes_in += len;
  switch (c->codec) {
  case WEIR__CODEC_ZSTD: return zstd_run(c, buf, len, ZSTD_e_continue);
  case WEIR__CODEC_GZIP: {
    const unsigned char *p = buf;
    while (len) {
      size_t n = len > (1u << 30) ? (1u << 30) : len;
      int rc = gzip_run(c, p, n, Z_NO_FLUSH);
      if (rc) return rc;
      p += n;
      len -= n;
    }
    return WEIR_OK;
  }
  default: return put(c, buf, len);
  }
}

uint64_t weir__cstream_bytes_in(const weir__cstream *c) { return c->bytes_in; }

const char *weir__cstream_errmsg(const weir__cstream *c) { return c->errmsg; }

static void cfree(weir__cstream *c) {
  if (c->zc) ZSTD_freeCCtx(c->zc);
  if (c->zs_init) deflateEnd(&c->zs);
  free(c->obuf);
  free(c);
}

int weir__cstream_commit(weir__cstream *c, char *err, size_t errlen) {
  int rc = WEIR_OK;
  if (c->codec == WEIR__CODEC_ZSTD) rc = zstd_run(c, "", 0, ZSTD_e_end);
  else if (c->codec == WEIR__CODEC_GZIP) rc = gzip_run(c, "", 0, Z_FINISH);
  if (rc != WEIR_OK) {
    if (err && errlen) snprintf(err, errlen, "%s", c->errmsg);
    weir__wstream_abort(c->ws);
  } else {
    rc = weir__wstream_commit(c->ws, err, errlen);
  }
  cfree(c);
  return rc;
}

void weir__cstream_abort(weir__cstream *c) {
  if (!c) return;
  weir__wstream_abort(c->ws);
  cfree(c);
}
