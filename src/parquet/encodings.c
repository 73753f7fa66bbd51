/* Decoders and encoders of Parquet's encodings, bounds-checked against the
 * page they read. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "parquet/encodings.h"
#include "parquet/meta.h"

void weir__pq_vals_free(pq_vals *v) {
  free(v->fixed);
  free(v->offs);
  free(v->data);
  memset(v, 0, sizeof *v);
}

static int grow(void **p, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 1024;
  while (c < need) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  void *q = realloc(*p, c);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

int weir__pq_vals_reserve(pq_vals *v, size_t n, size_t data) {
  if (v->width) {
    if (n > SIZE_MAX / 16) return -1;
    return grow((void **)&v->fixed, &v->fixed_cap, n * (size_t)v->width + 8);
  }
  if (n > SIZE_MAX / 16) return -1;
  size_t ob = v->offs_cap;
  if (grow((void **)&v->offs, &ob, (n + 1) * sizeof(int64_t))) return -1;
  v->offs_cap = ob;
  return grow((void **)&v->data, &v->data_cap, data + 1);
}

/* Unpacks `count` values of `bw` bits, least significant bit first, from
 * p (which holds at least ceil(count * bw / 8) bytes). */
static void unpack(const uint8_t *p, int bw, uint32_t *out, size_t count) {
  if (bw == 0) {
    memset(out, 0, count * sizeof *out);
    return;
  }
  uint64_t acc = 0;
  int bits = 0;
  uint32_t mask = bw == 32 ? 0xffffffffu : (1u << bw) - 1;
  for (size_t i = 0; i < count; i++) {
    while (bits < bw) {
      acc |= (uint64_t)*p++ << bits;
      bits += 8;
    }
    out[i] = (uint32_t)acc & mask;
    acc >>= bw;
    bits -= bw;
  }
}

static int uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  const uint8_t *p = *pp;
  uint64_t r = 0;
  for (int s = 0; s < 64; s += 7) {
    if (p >= end) return -1;
    uint8_t b = *p++;
    r |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) {
      *v = r;
      *pp = p;
      return 0;
    }
  }
  return -1;
}

int weir__pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t count) {
  const uint8_t *end = p + len;
  size_t got = 0;
  if (bw < 0 || bw > 32) return -1;
  size_t vbytes = ((size_t)bw + 7) / 8;
  while (got < count) {
    uint64_t h;
    if (uvarint(&p, end, &h)) return -1;
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups == 0 || groups > (uint64_t)(end - p)) return -1;
      size_t nvals = (size_t)groups * 8;
      size_t bytes = (size_t)groups * (size_t)bw;
      if (bytes > (size_t)(end - p)) return -1;
      size_t take = nvals < count - got ? nvals : count - got;
      unpack(p, bw, out + got, take);
      got += take;
      p += bytes;
    } else {
      uint64_t run = h >> 1;
      if ((size_t)(end - p) < vbytes) return -1;
      uint32_t v = 0;
      for (size_t k = 0; k < vbytes; k++) v |= (uint32_t)p[k] << (8 * k);
      p += vbytes;
      if (run == 0) return -1;
      size_t take = run < count - got ? (size_t)run : count - got;
      for (size_t k = 0; k < take; k++) out[got + k] = v;
      got += take;
    }
  }
  return 0;
}

long weir__pq_plain_decode(int type, int flba, const uint8_t *p, size_t len, size_t count,
                           pq_vals *v) {
  v->n = count;
  switch (type) {
  case PQ_BOOLEAN: {
    v->width = 1;
    if ((count + 7) / 8 > len || weir__pq_vals_reserve(v, count, 0)) return -1;
    for (size_t i = 0; i < count; i++) v->fixed[i] = (p[i >> 3] >> (i & 7)) & 1;
    return (long)((count + 7) / 8);
  }
  case PQ_BYTE_ARRAY: {
    v->width = 0;
    if (count > len / 4 || weir__pq_vals_reserve(v, count, len)) return -1;
    size_t at = 0, d = 0;
    v->offs[0] = 0;
    for (size_t i = 0; i < count; i++) {
      if (len - at < 4) return -1;
      uint32_t n;
      memcpy(&n, p + at, 4);
      at += 4;
      if (n > len - at) return -1;
      if (n) memcpy(v->data + d, p + at, n);
      d += n;
      at += n;
      v->offs[i + 1] = (int64_t)d;
    }
    v->data_len = d;
    return (long)at;
  }
  default: {
    int w = type == PQ_INT32 || type == PQ_FLOAT ? 4
          : type == PQ_INT64 || type == PQ_DOUBLE ? 8
          : type == PQ_INT96 ? 12 : flba;
    if (w <= 0) return -1;
    v->width = w;
    if (count > len / (size_t)w || weir__pq_vals_reserve(v, count, 0)) return -1;
    if (count) memcpy(v->fixed, p, count * (size_t)w); /* p is NULL on an empty page */
    return (long)(count * (size_t)w);
  }
  }
}

long weir__pq_delta_decode(const uint8_t *p, size_t len, size_t count, int width,
                           pq_vals *v, int64_t *out64) {
  const uint8_t *start = p, *end = p + len;
  uint64_t block, minis, total, first_z;
  if (uvarint(&p, end, &block) || uvarint(&p, end, &minis) || uvarint(&p, end, &total) ||
      uvarint(&p, end, &first_z))
    return -1;
  if (block == 0 || minis == 0 || block % 128 || block / minis % 32 || minis > block ||
      block > (1u << 20) || total < count)
    return -1;
  if (!out64) {
    v->width = width;
    v->n = count;
    if (weir__pq_vals_reserve(v, count, 0)) return -1;
  }
  size_t per_mini = (size_t)(block / minis);
  uint32_t *tmp = malloc(per_mini * sizeof *tmp * 2 + 64);
  if (!tmp) return -1;
  int64_t cur = (int64_t)(first_z >> 1) ^ -(int64_t)(first_z & 1);
  size_t got = 0;
  int ok = 1;
#define PUT(val)                                                     \
  do {                                                               \
    if (out64) out64[got] = (val);                                   \
    else if (width == 4) { int32_t t32 = (int32_t)(val); memcpy(v->fixed + got * 4, &t32, 4); } \
    else { int64_t t64 = (val); memcpy(v->fixed + got * 8, &t64, 8); } \
    got++;                                                           \
  } while (0)
  if (count) PUT(cur);
  /* The blocks hold total - 1 deltas; read until `count` values are out,
   * but consume whole blocks as written (a page's value count may be
   * less than the header's when it only holds non-null values). */
  uint64_t left = total ? total - 1 : 0;
  while (left > 0 && ok) {
    uint64_t mdz;
    if (uvarint(&p, end, &mdz)) { ok = 0; break; }
    int64_t min_delta = (int64_t)(mdz >> 1) ^ -(int64_t)(mdz & 1);
    if ((uint64_t)(end - p) < minis) { ok = 0; break; }
    const uint8_t *widths = p;
    p += minis;
    for (uint64_t m = 0; m < minis && left > 0; m++) {
      int bw = widths[m];
      if (bw > 64) { ok = 0; break; }
      size_t bytes = per_mini * (size_t)bw / 8;
      if ((size_t)(end - p) < bytes) { ok = 0; break; }
      size_t n = left < per_mini ? (size_t)left : per_mini;
      /* Unpack up to 64-bit deltas in two passes of 32 bits at most. */
      uint64_t acc = 0;
      int bits = 0;
      const uint8_t *q = p;
      for (size_t i = 0; i < n; i++) {
        uint64_t d = 0;
        int need = bw, shift = 0;
        while (need > 0) {
          if (bits == 0) {
            acc = *q++;
            bits = 8;
          }
          int take = need < bits ? need : bits;
          d |= (acc & ((1ull << take) - 1)) << shift;
          acc >>= take;
          bits -= take;
          need -= take;
          shift += take;
        }
        cur = (int64_t)((uint64_t)cur + (uint64_t)min_delta + d);
        if (got < count) PUT(cur);
      }
      p += bytes;
      left -= n;
    }
  }
#undef PUT
  free(tmp);
  if (!ok || got < count) return -1;
  return (long)(p - start);
}

long weir__pq_delta_length_decode(const uint8_t *p, size_t len, size_t count, pq_vals *v) {
  int64_t *lens = malloc((count ? count : 1) * sizeof *lens);
  if (!lens) return -1;
  long used = weir__pq_delta_decode(p, len, count, 8, v, lens);
  if (used < 0) {
    free(lens);
    return -1;
  }
  size_t at = (size_t)used, d = 0;
  v->width = 0;
  v->n = count;
  if (weir__pq_vals_reserve(v, count, len - at)) {
    free(lens);
    return -1;
  }
  v->offs[0] = 0;
  for (size_t i = 0; i < count; i++) {
    if (lens[i] < 0 || (uint64_t)lens[i] > len - at) {
      free(lens);
      return -1;
    }
    if (lens[i]) memcpy(v->data + d, p + at, (size_t)lens[i]);
    at += (size_t)lens[i];
    d += (size_t)lens[i];
    v->offs[i + 1] = (int64_t)d;
  }
  v->data_len = d;
  free(lens);
  return (long)at;
}

long weir__pq_delta_byte_array_decode(const uint8_t *p, size_t len, size_t count, pq_vals *v) {
  int64_t *pre = malloc((count ? count : 1) * sizeof *pre);
  if (!pre) return -1;
  pq_vals suf = {0};
  long u1 = weir__pq_delta_decode(p, len, count, 8, v, pre);
  long u2 = u1 < 0 ? -1 : weir__pq_delta_length_decode(p + u1, len - (size_t)u1, count, &suf);
  if (u2 < 0) {
    free(pre);
    weir__pq_vals_free(&suf);
    return -1;
  }
  /* Each value is a prefix of the previous one plus its suffix. */
  size_t total = 0;
  int64_t prev_len = 0;
  for (size_t i = 0; i < count; i++) {
    if (pre[i] < 0 || pre[i] > prev_len) goto bad;
    prev_len = pre[i] + (suf.offs[i + 1] - suf.offs[i]);
    total += (size_t)prev_len;
    if (total > ((size_t)1 << 40)) goto bad;
  }
  v->width = 0;
  v->n = count;
  if (weir__pq_vals_reserve(v, count, total)) goto bad;
  v->offs[0] = 0;
  size_t d = 0, prev_at = 0;
  for (size_t i = 0; i < count; i++) {
    size_t pl = (size_t)pre[i];
    size_t sl = (size_t)(suf.offs[i + 1] - suf.offs[i]);
    if (pl) memmove(v->data + d, v->data + prev_at, pl);
    if (sl) memcpy(v->data + d + pl, suf.data + suf.offs[i], sl);
    prev_at = d;
    d += pl + sl;
    v->offs[i + 1] = (int64_t)d;
  }
  v->data_len = d;
  free(pre);
  weir__pq_vals_free(&suf);
  return u1 + u2;
bad:
  free(pre);
  weir__pq_vals_free(&suf);
  return -1;
}

long weir__pq_bss_decode(const uint8_t *p, size_t len, size_t count, int width, pq_vals *v) {
  if (width <= 0 || count > len / (size_t)width) return -1;
  v->width = width;
  v->n = count;
  if (weir__pq_vals_reserve(v, count, 0)) return -1;
  for (int k = 0; k < width; k++) {
    const uint8_t *s = p + (size_t)k * count;
    for (size_t i = 0; i < count; i++) v->fixed[i * (size_t)width + (size_t)k] = s[i];
  }
  return (long)(count * (size_t)width);
}

/* ---- Encoding ---- */

void weir__pq_buf_put(pq_buf *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t c = b->cap ? b->cap * 2 : 4096;
    while (c < b->len + n) c *= 2;
    uint8_t *q = realloc(b->p, c);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = c;
  }
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}

void weir__pq_buf_free(pq_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

int weir__pq_bit_width(uint64_t max) {
  int w = 0;
  while (max) {
    w++;
    max >>= 1;
  }
  return w;
}

static void put_uvarint(pq_buf *b, uint64_t v) {
  uint8_t t[10];
  int n = 0;
  while (v >= 0x80) {
    t[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  t[n++] = (uint8_t)v;
  weir__pq_buf_put(b, t, (size_t)n);
}

/* Bit-packs vals[0..n) (n a multiple of 8, padding included by caller). */
static void put_packed(pq_buf *b, const uint32_t *vals, size_t n, int bw) {
  put_uvarint(b, (uint64_t)(n / 8) << 1 | 1);
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc |= (uint64_t)vals[i] << bits;
    bits += bw;
    while (bits >= 8) {
      uint8_t c = (uint8_t)acc;
      weir__pq_buf_put(b, &c, 1);
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits) {
    uint8_t c = (uint8_t)acc;
    weir__pq_buf_put(b, &c, 1);
  }
}

void weir__pq_rle_encode(pq_buf *b, const uint32_t *vals, size_t n, int bw) {
  size_t vbytes = ((size_t)bw + 7) / 8;
  size_t i = 0;
  uint32_t pend[8 * 64];
  size_t np = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && vals[j] == vals[i]) j++;
    size_t run = j - i;
    /* A run is worth RLE when it is long and the pending bit-packed
     * values fill whole groups of 8. */
    if (run >= 8 && np % 8 == 0) {
      if (np) {
        put_packed(b, pend, np, bw);
        np = 0;
      }
      put_uvarint(b, (uint64_t)run << 1);
      uint32_t v = vals[i];
      for (size_t k = 0; k < vbytes; k++) {
        uint8_t c = (uint8_t)(v >> (8 * k));
        weir__pq_buf_put(b, &c, 1);
      }
      i = j;
      continue;
    }
    pend[np++] = vals[i++];
    if (np == sizeof pend / sizeof pend[0]) {
      put_packed(b, pend, np, bw);
      np = 0;
    }
  }
  if (np) {
    /* Pad the last group to 8; readers stop at the value count. */
    while (np % 8) pend[np++] = 0;
    put_packed(b, pend, np, bw);
  }
}
