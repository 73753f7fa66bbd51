/* weir_read_blocks: block files back into blocks, frame by frame, with the
 * footer checked so that a truncated file is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "weir/error.h"
#include "weir/io.h"
#include "io/blockfile.h"
#include "io/reader.h"

/* Reads exactly n bytes; 0 at a clean end before any byte, 1 when all
 * came, < 0 on error or a short read (truncation). */
static int read_exact(weir__rstream *s, void *buf, size_t n, char *err,
                      size_t errlen, const char *uri) {
  size_t got = 0;
  while (got < n) {
    long r = weir__rstream_read(s, (char *)buf + got, n - got);
    if (r < 0) {
      snprintf(err, errlen, "%s", weir__rstream_errmsg(s));
      return (int)r;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  if (got == n) return 1;
  snprintf(err, errlen, "%s: truncated block file", uri);
  return WEIR_EFORMAT;
}

static int blocks_task(void *user, size_t task, weir_emit *out) {
  weir__reader *r = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const char *uri = r->objs[r->tasks[task].obj].uri;
  char err[600] = "";
  weir__rstream *s;
  int rc = weir__rstream_open(uri, &r->cfg, 0, UINT64_MAX, &s, err, sizeof err);
  if (rc != WEIR_OK) {
    weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  unsigned char hdr[WEIR__BF_FRAME_HEADER];
  unsigned char *comp = NULL;
  size_t comp_cap = 0;
  uint64_t frames = 0, rows_total = 0;
  if (!dctx) rc = WEIR_ENOMEM;
  if (rc == WEIR_OK) {
    rc = read_exact(s, hdr, WEIR__BF_HEADER_SIZE, err, sizeof err, uri);
    if (rc == 1) {
      char why[256];
      rc = weir__bf_check_header(hdr, why, sizeof why);
      if (rc) snprintf(err, sizeof err, "%s: %s", uri, why);
    }
  }
  while (rc == WEIR_OK) {
    if (weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
    rc = read_exact(s, hdr, sizeof hdr, err, sizeof err, uri);
    if (rc != 1) break;
    rc = WEIR_OK;
    uint32_t tag;
    uint64_t clen, raw, rows;
    weir__bf_frame_header(hdr, &tag, &clen, &raw, &rows);
    if (tag == WEIR__BF_TAG_INDEX) {
      /* The footer: its frame count and row total must match. */
      uint64_t n = clen;
      uint64_t rest = 16 * n + 24;
      if (n != frames) {
        snprintf(err, sizeof err, "%s: footer lists %llu blocks, found %llu",
                 uri, (unsigned long long)n, (unsigned long long)frames);
        rc = WEIR_EFORMAT;
        break;
      }
      unsigned char *ft = malloc((size_t)rest);
      if (!ft) {
        rc = WEIR_ENOMEM;
        break;
      }
      rc = read_exact(s, ft, (size_t)rest, err, sizeof err, uri);
      if (rc == 1) {
        uint64_t total;
        memcpy(&total, ft + 16 * n + 8, 8);
        if (memcmp(ft + 16 * n + 16, WEIR__BF_END, 8) != 0 || total != rows_total) {
          snprintf(err, sizeof err, "%s: corrupt block file footer", uri);
          rc = WEIR_EFORMAT;
        } else {
          rc = WEIR_OK;
        }
      }
      free(ft);
      goto done;
    }
    if (tag != WEIR__BF_TAG_FRAME || clen > ((uint64_t)1 << 40)) {
      snprintf(err, sizeof err, "%s: corrupt block file (bad frame header)", uri);
      rc = WEIR_EFORMAT;
      break;
    }
    if (clen > comp_cap) {
      unsigned char *nc = realloc(comp, (size_t)clen);
      if (!nc) {
        rc = WEIR_ENOMEM;
        break;
      }
      comp = nc;
      comp_cap = (size_t)clen;
    }
    rc = read_exact(s, comp, (size_t)clen, err, sizeof err, uri);
    if (rc != 1) break;
    weir_block *b;
    char why[256];
    rc = weir__bf_decode(comp, (size_t)clen, raw, rows, dctx, &b, why, sizeof why);
    if (rc != WEIR_OK) {
      snprintf(err, sizeof err, "%s: block %llu: %s", uri,
               (unsigned long long)frames, why);
      break;
    }
    frames++;
    rows_total += rows;
    rc = weir_emit_block(out, b);
  }
  if (rc == 1 || rc == WEIR_OK) {
    /* The stream ended without a footer. */
    snprintf(err, sizeof err, "%s: truncated block file (no footer)", uri);
    rc = WEIR_EFORMAT;
  }
done:
  free(comp);
  ZSTD_freeDCtx(dctx);
  weir__rstream_close(s);
  if (rc != WEIR_OK && err[0]) weir_ctx_set_errmsg(ctx, "%s", err);
  return rc;
}

weir_op *weir_read_blocks(weir_pipeline *p, const char *uri,
                          const weir_read_options *o) {
  return weir__reader_op(p, "blocks", "read_blocks", uri, o, 0, blocks_task,
                         NULL);
}
