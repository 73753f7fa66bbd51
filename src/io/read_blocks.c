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

/* Reads exactly n bytes: 1 when all came, 0 at a clean end before any
 * byte, < 0 on error or a short read (truncation), with `err` set. */
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
  if (got == 0) return 0;
  snprintf(err, errlen, "%s: truncated block file", uri);
  return WEIR_EFORMAT;
}

/* Like read_exact, where the end of the stream is truncation too. */
static int read_all(weir__rstream *s, void *buf, size_t n, char *err,
                    size_t errlen, const char *uri) {
  int rc = read_exact(s, buf, n, err, errlen, uri);
  if (rc == 1) return WEIR_OK;
  if (rc == 0) {
    snprintf(err, errlen, "%s: truncated block file", uri);
    return WEIR_EFORMAT;
  }
  return rc;
}

/* Reads the footer whose index header announced `n` blocks and checks it
 * against the `frames` blocks and `rows_total` rows read. */
static int check_footer(weir__rstream *s, uint64_t n, uint64_t frames,
                        uint64_t rows_total, char *err, size_t errlen,
                        const char *uri) {
  if (n != frames) {
    snprintf(err, errlen, "%s: footer lists %llu blocks, found %llu", uri,
             (unsigned long long)n, (unsigned long long)frames);
    return WEIR_EFORMAT;
  }
  uint64_t rest = 16 * n + 24;
  unsigned char *ft = malloc((size_t)rest);
  if (!ft) return WEIR_ENOMEM;
  int rc = read_all(s, ft, (size_t)rest, err, errlen, uri);
  if (rc == WEIR_OK) {
    uint64_t total;
    memcpy(&total, ft + 16 * n + 8, 8);
    if (memcmp(ft + 16 * n + 16, WEIR__BF_END, 8) != 0 || total != rows_total) {
      snprintf(err, errlen, "%s: corrupt block file footer", uri);
      rc = WEIR_EFORMAT;
    }
  }
  free(ft);
  return rc;
}

static int blocks_task(void *user, size_t task, weir_emit *out) {
  weir__reader *r = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const char *uri = r->objs[r->tasks[task].obj].uri;
  char err[600] = "";
  weir__rstream *s;
  int rc = weir__rstream_open(uri, &r->cfg, 0, UINT64_MAX, &s, err, sizeof err);
  if (rc != WEIR_OK) {
    if (r->o.on_error == WEIR_ON_ERROR_SKIP && rc != WEIR_ENOMEM) {
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping unreadable input: %s", err);
      weir_ctx_count_skipped_input(ctx);
      return WEIR_OK;
    }
    weir_ctx_set_errmsg(ctx, "%s", err);
    return rc;
  }
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  unsigned char hdr[WEIR__BF_FRAME_HEADER];
  unsigned char *comp = NULL;
  size_t comp_cap = 0;
  uint64_t frames = 0, rows_total = 0;
  uint64_t pos = WEIR__BF_HEADER_SIZE; /* file offset after what was read */
  uint64_t size = r->objs[r->tasks[task].obj].size; /* UINT64_MAX: unknown */
  if (!dctx) rc = WEIR_ENOMEM;
  if (rc == WEIR_OK) rc = read_all(s, hdr, WEIR__BF_HEADER_SIZE, err, sizeof err, uri);
  if (rc == WEIR_OK) {
    char why[256];
    rc = weir__bf_check_header(hdr, why, sizeof why);
    if (rc) snprintf(err, sizeof err, "%s: %s", uri, why);
  }
  /* Frames until the footer, which ends the loop with its check. */
  while (rc == WEIR_OK) {
    if (weir_ctx_cancelled(ctx)) {
      rc = WEIR_ECANCELED;
      break;
    }
    rc = read_exact(s, hdr, sizeof hdr, err, sizeof err, uri);
    if (rc == 0) {
      snprintf(err, sizeof err, "%s: truncated block file (no footer)", uri);
      rc = WEIR_EFORMAT;
    }
    if (rc != 1) break;
    uint32_t tag;
    uint64_t clen, raw, rows;
    weir__bf_frame_header(hdr, &tag, &clen, &raw, &rows);
    if (tag == WEIR__BF_TAG_INDEX) {
      /* For the index, the header's length field is the block count. */
      rc = check_footer(s, clen, frames, rows_total, err, sizeof err, uri);
      break;
    }
    /* A compressed length past the end of the file is damage, found here
     * rather than by an allocation of that size (up to a terabyte). */
    pos += WEIR__BF_FRAME_HEADER;
    if (tag != WEIR__BF_TAG_FRAME || clen > ((uint64_t)1 << 40) ||
        (size != UINT64_MAX && (pos > size || clen > size - pos))) {
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
    rc = read_all(s, comp, (size_t)clen, err, sizeof err, uri);
    if (rc != WEIR_OK) break;
    pos += clen;
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
  free(comp);
  ZSTD_freeDCtx(dctx);
  weir__rstream_close(s);
  if (weir__reader_skips_rest(r, rc)) {
    /* Like the other readers under on_error = skip: the blocks before the
     * damage went out, the rest of the file is given up and counted, and
     * the run goes on (it used to end the run whatever the policy). */
    weir_ctx_log(ctx, WEIR_LOG_WARN, "skipping the rest of %s", err);
    weir_ctx_count_skipped_input(ctx);
    return WEIR_OK;
  }
  if (rc != WEIR_OK && err[0]) weir_ctx_set_errmsg(ctx, "%s", err);
  return rc;
}

weir_op *weir_read_blocks(weir_pipeline *p, const char *uri,
                          const weir_read_options *o) {
  return weir__reader_op(p, "blocks", "read_blocks", uri, o, 0, blocks_task,
                         NULL);
}
