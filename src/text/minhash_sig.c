/* MinHash signatures as DataTrove 0.10 computes them (64-bit, xxhash):
 * shingles hashed with XXH64, permuted by (h*a + b mod 2^64) mod 2^61-1
 * with a and b drawn by numpy's legacy RandomState, minimum per hash. The
 * hot loop avoids division: mod 2^61-1 of a 64-bit value is a shift, a
 * mask, an add and one conditional subtract. */
#include <stdlib.h>
#include <string.h>

#ifdef WEIR_HAVE_XXHASH
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif

#include "text/minhash.h"
#include "weir/error.h"

/* ---- numpy's RandomState: MT19937 and masked bounded uint64 draws ------- */
typedef struct mt {
  uint32_t s[624];
  int i;
} mt;

static void mt_seed(mt *m, uint32_t seed) {
  m->s[0] = seed;
  for (int i = 1; i < 624; i++)
    m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
  m->i = 624;
}

static uint32_t mt_next(mt *m) {
  if (m->i >= 624) {
    for (int k = 0; k < 624; k++) {
      uint32_t y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % 624] & 0x7fffffffu);
      m->s[k] = m->s[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
    }
    m->i = 0;
  }
  uint32_t y = m->s[m->i++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

/* randint(low, high) for uint64 with high - 1 - low > 2^32 (numpy's
 * legacy masked rejection sampling, high word first). */
static uint64_t mt_bounded(mt *m, uint64_t low, uint64_t high) {
  uint64_t rng = high - 1 - low, mask = rng;
  for (int sh = 1; sh < 64; sh *= 2)
    mask |= mask >> sh;
  for (;;) {
    uint64_t hi = mt_next(m);
    uint64_t v = ((hi << 32) | mt_next(m)) & mask;
    if (v <= rng)
      return low + v;
  }
}

int weir__mh_params_init(weir__mh_params *pm, const weir_minhash_options *o) {
  memset(pm, 0, sizeof *pm);
  pm->words = o->shingle != WEIR_MINHASH_CHARS;
  pm->ngram = o->ngram ? o->ngram : (pm->words ? 5 : 24);
  pm->bands = o->bands ? o->bands : 14;
  pm->rows = o->rows ? o->rows : 8;
  pm->normalize = o->normalize;
  pm->seed = o->seed;
  size_t nh = (size_t)pm->bands * (size_t)pm->rows;
  pm->a = malloc(nh * sizeof *pm->a);
  pm->b = malloc(nh * sizeof *pm->b);
  if (!pm->a || !pm->b) {
    weir__mh_params_free(pm);
    return WEIR_ENOMEM;
  }
  mt m;
  mt_seed(&m, (uint32_t)pm->seed);
  for (size_t i = 0; i < nh; i++)
    pm->a[i] = mt_bounded(&m, 1, WEIR__MH_PRIME);
  for (size_t i = 0; i < nh; i++)
    pm->b[i] = mt_bounded(&m, 0, WEIR__MH_PRIME);
  return WEIR_OK;
}

void weir__mh_params_free(weir__mh_params *pm) {
  free(pm->a);
  free(pm->b);
  pm->a = pm->b = NULL;
}

/* ---- Per-thread state ------------------------------------------------------ */
struct weir__mh_worker {
  const weir__mh_params *pm;
  weir__tokenizer *tok;
  char *norm;
  size_t norm_cap;
  weir__doc_words words;
  uint64_t *sh;           /* shingle hashes */
  size_t sh_cap;
  char *join;             /* a shingle whose words are not one space apart */
  size_t join_cap;
  uint32_t *cps;          /* character mode: byte offsets of code points */
  size_t cps_cap;
};

int weir__mh_worker_create(const weir__mh_params *pm, weir__mh_worker **out) {
  weir__mh_worker *w = calloc(1, sizeof *w);
  if (!w)
    return WEIR_ENOMEM;
  w->pm = pm;
  if (pm->words) {
    int rc = weir__tokenizer_create(&w->tok);
    if (rc) {
      free(w);
      return rc;
    }
  }
  *out = w;
  return WEIR_OK;
}

void weir__mh_worker_destroy(weir__mh_worker *w) {
  if (!w)
    return;
  weir__tokenizer_destroy(w->tok);
  free(w->norm);
  free(w->words.w);
  free(w->sh);
  free(w->join);
  free(w->cps);
  free(w);
}

static int reserve(void **p, size_t *cap, size_t n, size_t elem) {
  if (*cap >= n)
    return WEIR_OK;
  size_t nc = *cap ? *cap : 256;
  while (nc < n)
    nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np)
    return WEIR_ENOMEM;
  *p = np;
  *cap = nc;
  return WEIR_OK;
}

static uint64_t hash64(const void *p, size_t n) {
#ifdef WEIR_HAVE_XXHASH
  return XXH64(p, n, 0);
#else
  (void)p, (void)n;
  return 0;
#endif
}

/* Word shingles: windows of n words joined by one space. Where the words
 * of a window already sit one space apart in the text (nearly always), the
 * bytes are hashed in place. */
static int word_shingles(weir__mh_worker *w, const char *t, size_t len, size_t *ns) {
  w->words.n = 0;
  int rc = weir__tokenize(w->tok, t, len, &w->words);
  if (rc)
    return rc;
  size_t nw = w->words.n, n = (size_t)w->pm->ngram;
  *ns = 0;
  if (nw < n)
    return WEIR_OK;
  if ((rc = reserve((void **)&w->sh, &w->sh_cap, nw - n + 1, sizeof *w->sh)))
    return rc;
  const weir__word *wd = w->words.w;
  /* bad = number of non-single-space gaps inside the current window */
  size_t bad = 0;
  for (size_t k = 0; k + 1 < n; k++)
    bad += wd[k + 1].start != wd[k].start + wd[k].len + 1;
  for (size_t i = 0;; i++) {
    const weir__word *first = &wd[i], *last = &wd[i + n - 1];
    if (!bad) {
      w->sh[i] = hash64(t + first->start, last->start + last->len - first->start);
    } else {
      size_t need = 0;
      for (size_t k = 0; k < n; k++)
        need += wd[i + k].len + 1;
      if ((rc = reserve((void **)&w->join, &w->join_cap, need, 1)))
        return rc;
      size_t o = 0;
      for (size_t k = 0; k < n; k++) {
        if (k)
          w->join[o++] = ' ';
        memcpy(w->join + o, t + wd[i + k].start, wd[i + k].len);
        o += wd[i + k].len;
      }
      w->sh[i] = hash64(w->join, o);
    }
    if (i + n >= nw)
      break;
    bad -= wd[i + 1].start != wd[i].start + wd[i].len + 1;
    bad += wd[i + n].start != wd[i + n - 1].start + wd[i + n - 1].len + 1;
  }
  *ns = nw - n + 1;
  return WEIR_OK;
}

static int char_shingles(weir__mh_worker *w, const char *t, size_t len, size_t *ns) {
  size_t n = (size_t)w->pm->ngram, c = 0;
  int rc = reserve((void **)&w->cps, &w->cps_cap, len + 1, sizeof *w->cps);
  if (rc)
    return rc;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)t[i] & 0xC0) != 0x80)
      w->cps[c++] = (uint32_t)i;
  w->cps[c] = (uint32_t)len;
  *ns = 0;
  if (c < n)
    return WEIR_OK;
  if ((rc = reserve((void **)&w->sh, &w->sh_cap, c - n + 1, sizeof *w->sh)))
    return rc;
  for (size_t i = 0; i + n <= c; i++)
    w->sh[i] = hash64(t + w->cps[i], w->cps[i + n] - w->cps[i]);
  *ns = c - n + 1;
  return WEIR_OK;
}

/* min over shingles of ((h*a + b) mod 2^64) mod (2^61 - 1), for eight
 * hashes at once so the shingles are read once per eight. On x86-64 GCC
 * also builds an AVX-512 copy (8 lanes of vpmullq / vpminuq), chosen at
 * load time when the CPU has it. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "default")))
#endif
static void permute_min(const uint64_t *sh, size_t ns, const uint64_t *a, const uint64_t *b,
                        size_t nh, uint64_t *sig) {
  const uint64_t P = WEIR__MH_PRIME;
  size_t j = 0;
  for (; j + 8 <= nh; j += 8) {
    uint64_t m[8], aa[8], bb[8];
    for (int k = 0; k < 8; k++) {
      m[k] = UINT64_MAX;
      aa[k] = a[j + k];
      bb[k] = b[j + k];
    }
    for (size_t i = 0; i < ns; i++) {
      uint64_t h = sh[i];
      for (int k = 0; k < 8; k++) {
        uint64_t v = h * aa[k] + bb[k];
        uint64_t r = (v & P) + (v >> 61);
        r = r >= P ? r - P : r;
        m[k] = r < m[k] ? r : m[k];
      }
    }
    memcpy(sig + j, m, sizeof m);
  }
  for (; j < nh; j++) {
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < ns; i++) {
      uint64_t v = sh[i] * a[j] + b[j];
      uint64_t r = (v & P) + (v >> 61);
      r = r >= P ? r - P : r;
      m = r < m ? r : m;
    }
    sig[j] = m;
  }
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

int weir__mh_signature(weir__mh_worker *w, const char *text, size_t len, uint64_t *sig,
                       size_t *nshingles, const uint64_t **set, size_t *nset) {
  const weir__mh_params *pm = w->pm;
  const char *t = text;
  size_t tl = len;
  int rc;
  if (pm->normalize == WEIR_MINHASH_NORM_DATATROVE) {
    if ((rc = weir__mh_simplify(text, len, &w->norm, &w->norm_cap, &tl)))
      return rc;
    t = w->norm;
  }
  size_t ns = 0;
  rc = pm->words ? word_shingles(w, t, tl, &ns) : char_shingles(w, t, tl, &ns);
  if (rc)
    return rc;
  *nshingles = ns;
  size_t nh = (size_t)pm->bands * (size_t)pm->rows;
  if (ns == 0) {
    for (size_t j = 0; j < nh; j++)
      sig[j] = UINT64_MAX;
  } else {
    permute_min(w->sh, ns, pm->a, pm->b, nh, sig);
  }
  if (set) {
    qsort(w->sh, ns, sizeof *w->sh, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < ns; i++)
      if (u == 0 || w->sh[i] != w->sh[u - 1])
        w->sh[u++] = w->sh[i];
    *set = w->sh;
    *nset = u;
  }
  return WEIR_OK;
}

void weir__mh_band_keys(const weir__mh_params *pm, const uint64_t *sig, uint64_t *keys) {
  unsigned char buf[8 * 64];
  size_t r = (size_t)pm->rows;
  for (int b = 0; b < pm->bands; b++) {
    for (size_t k = 0; k < r; k++) {
      uint64_t v = sig[(size_t)b * r + k];
      for (int y = 0; y < 8; y++)
        buf[8 * k + (size_t)y] = (unsigned char)(v >> (8 * y));
    }
#ifdef WEIR_HAVE_XXHASH
    keys[b] = XXH3_64bits_withSeed(buf, 8 * r, (uint64_t)b);
#else
    keys[b] = 0;
#endif
  }
}
