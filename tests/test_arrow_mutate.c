/* Seeded mutation tests of the Arrow import: valid arrays of every type
 * weir holds (built by a foreign producer here, or exported by weir) are
 * mutated field by field and imported. Each case must give WEIR_OK (and
 * then every value is read, so ASan sees any read past a buffer) or an
 * error with a message, and must release the moved-in array and schema
 * exactly once. test_arrow_malformed.c holds the hand-written cases; this
 * file finds the combinations nobody wrote down.
 *
 * What no consumer can check: the C Data Interface carries no buffer
 * sizes, so a producer that claims more elements than its buffers hold
 * (a raised offset or length that stays consistent, a wider type over the
 * same bytes, a last string offset past the bytes) cannot be caught. The
 * mutations below stay inside that promise: value buffers are allocated
 * wide enough for any fixed width, and lengths and offsets are only
 * raised where a parent's length bounds the reads, or to values whose sum
 * overflows. Everything else a producer can get wrong is fair game. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weir.h>

/* ---- Random numbers: a fixed xorshift, the same on every platform ------- */

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}
static int64_t rnd_below(int64_t n) { return n > 0 ? (int64_t)(rnd() % (uint64_t)n) : 0; }
static int chance(int percent) { return rnd_below(100) < percent; }
/* Sums that wrap instead of overflowing: mutated fields may be anything. */
static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* ---- A foreign producer whose every node is tracked --------------------
 * Nodes live in a per-case arena that outlives their release, so a second
 * release is counted (not a use after free) and a missing one is seen.
 * The buffers themselves are freed on release, so ASan still catches a
 * read of released memory. */

enum { MAXK = 8, MAXNODES = 64 };

typedef struct anode {          /* private data of one ArrowArray */
  void *owned[3];
  const void *ptrs[4];          /* a->buffers; one slot of slack */
  struct ArrowArray *kid_ptrs[MAXK];
  struct ArrowArray kids[MAXK];
  int nk;
  int releases;
} anode;

typedef struct snode {          /* private data of one ArrowSchema */
  char *format, *name, *metadata;
  struct ArrowSchema *kid_ptrs[MAXK];
  struct ArrowSchema kids[MAXK];
  int nk;
  int releases;
} snode;

static anode *anodes[MAXNODES];
static snode *snodes[MAXNODES];
static int n_anodes, n_snodes;
static int bad_release;          /* release called on a released struct */

static void a_release(struct ArrowArray *a) {
  anode *n = a->private_data;
  if (!a->release || !n) {
    bad_release++;
    return;
  }
  n->releases++;
  for (int i = 0; i < n->nk; i++) {
    struct ArrowArray *k = &n->kids[i]; /* kid_ptrs may have been mutated */
    if (k->release) k->release(k);
  }
  for (int i = 0; i < 3; i++) {
    free(n->owned[i]);
    n->owned[i] = NULL;
  }
  a->release = NULL;
}

static void s_release(struct ArrowSchema *s) {
  snode *n = s->private_data;
  if (!s->release || !n) {
    bad_release++;
    return;
  }
  n->releases++;
  for (int i = 0; i < n->nk; i++)
    if (n->kids[i].release) n->kids[i].release(&n->kids[i]);
  free(n->format);
  free(n->name);
  free(n->metadata);
  n->format = n->name = n->metadata = NULL;
  s->release = NULL;
}

static anode *a_new(struct ArrowArray *a, int64_t length, int64_t n_buffers, int nk) {
  cr_assert_lt(n_anodes, MAXNODES);
  anode *n = calloc(1, sizeof *n);
  cr_assert(n);
  anodes[n_anodes++] = n;
  for (int i = 0; i < MAXK; i++) n->kid_ptrs[i] = i < nk ? &n->kids[i] : NULL;
  n->nk = nk;
  memset(a, 0, sizeof *a);
  a->length = length;
  a->n_buffers = n_buffers;
  a->n_children = nk;
  a->buffers = n->ptrs;
  a->children = nk ? n->kid_ptrs : NULL;
  a->release = a_release;
  a->private_data = n;
  return n;
}

/* Buffer i: an exact-size heap copy (ASan sees one byte past it). */
static void *a_buf(anode *n, int i, size_t bytes) {
  free(n->owned[i]);
  n->owned[i] = calloc(1, bytes ? bytes : 1);
  cr_assert(n->owned[i]);
  n->ptrs[i] = n->owned[i];
  return n->owned[i];
}

static snode *s_new(struct ArrowSchema *s, const char *format, const char *name, int nk) {
  cr_assert_lt(n_snodes, MAXNODES);
  snode *n = calloc(1, sizeof *n);
  cr_assert(n);
  snodes[n_snodes++] = n;
  for (int i = 0; i < MAXK; i++) n->kid_ptrs[i] = i < nk ? &n->kids[i] : NULL;
  n->nk = nk;
  n->format = format ? strdup(format) : NULL;
  n->name = name ? strdup(name) : NULL;
  memset(s, 0, sizeof *s);
  s->format = n->format;
  s->name = n->name;
  s->flags = ARROW_FLAG_NULLABLE;
  s->n_children = nk;
  s->children = nk ? n->kid_ptrs : NULL;
  s->release = s_release;
  s->private_data = n;
  return n;
}

static void s_set_format(struct ArrowSchema *s, const char *f) {
  snode *n = s->private_data;
  free(n->format);
  n->format = f ? strdup(f) : NULL;
  s->format = n->format;
}

static void s_set_name(struct ArrowSchema *s, const char *name) {
  snode *n = s->private_data;
  free(n->name);
  n->name = name ? strdup(name) : NULL;
  s->name = n->name;
}

/* Binary metadata with `pairs` key/value pairs, exactly sized; a negative
 * `bad_len` replaces the length of item `bad_item` (0-based over keys and
 * values) to test the walk's own checks. */
static void s_set_metadata(struct ArrowSchema *s, int pairs, const char *const *kv,
                           int bad_item, int32_t bad_len) {
  snode *n = s->private_data;
  size_t size = 4;
  for (int i = 0; i < 2 * pairs; i++) size += 4 + strlen(kv[i]);
  char *m = malloc(size), *p = m;
  cr_assert(m);
  int32_t v = pairs;
  memcpy(p, &v, 4);
  p += 4;
  for (int i = 0; i < 2 * pairs; i++) {
    v = (int32_t)strlen(kv[i]);
    int32_t w = i == bad_item ? bad_len : v;
    memcpy(p, &w, 4);
    memcpy(p + 4, kv[i], (size_t)v);
    p += 4 + v;
  }
  free(n->metadata);
  n->metadata = m;
  s->metadata = m;
}

static void tensor_ext(struct ArrowSchema *s, const char *json) {
  const char *kv[4] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                       "ARROW:extension:metadata", json};
  s_set_metadata(s, 2, kv, -1, 0);
}

static void arena_free(void) {
  for (int i = 0; i < n_anodes; i++) free(anodes[i]);
  for (int i = 0; i < n_snodes; i++) free(snodes[i]);
  n_anodes = n_snodes = 0;
  bad_release = 0;
}

/* ---- Valid columns of every type ---------------------------------------- */

enum {
  K_BOOL, K_I32, K_I64, K_F32, K_F64, K_UTF8, K_LUTF8, K_BIN, K_LBIN,
  K_LIST, K_TENSOR, K_TENSOR_BF16, NKINDS
};
static const char *const kind_formats[NKINDS] = {
  "b", "i", "l", "f", "g", "u", "U", "z", "Z", "+w:", "+w:", "+w:"};
static const char *const elem_formats[8] = {"C", "c", "s", "i", "l", "e", "f", "g"};

/* A validity bitmap for `bits` slots with random nulls; returns the nulls
 * among slots [from, from + len). */
static int64_t fill_validity(anode *n, int64_t bits, int64_t from, int64_t len) {
  uint8_t *v = a_buf(n, 0, (size_t)(bits + 7) / 8);
  int64_t nulls = 0;
  for (int64_t i = 0; i < bits; i++) {
    int valid = !chance(25);
    if (valid) v[i / 8] |= (uint8_t)(1u << (i % 8));
    else if (i >= from && i < from + len) nulls++;
  }
  return nulls;
}

/* Column of kind `k` with `len` rows starting at element `off` (a slice).
 * `exact_nulls` says whether null_count is given or left as -1. Fixed
 * values are allocated 8 bytes an element whatever the width, so a
 * mutated width stays inside the buffer (see the top of the file). */
static void make_column(int k, struct ArrowArray *a, struct ArrowSchema *s,
                        const char *name, int64_t len, int64_t off) {
  int64_t total = off + len;
  if (k == K_LIST || k == K_TENSOR || k == K_TENSOR_BF16) {
    static const int64_t shapes[4][3] = {{2, 3}, {4}, {2, 2, 1}, {1}};
    static const int ndims[4] = {2, 1, 3, 1};
    int sh = (int)rnd_below(4);
    int64_t per = 1;
    for (int d = 0; d < ndims[sh]; d++) per *= shapes[sh][d];
    char fmt[16];
    snprintf(fmt, sizeof fmt, "+w:%lld", (long long)per);
    anode *n = a_new(a, len, 1, 1);
    a->offset = off;
    a->null_count = -1;
    if (chance(50)) {
      a->null_count = fill_validity(n, total, off, len);
      if (chance(30)) a->null_count = -1;
    }
    snode *sn = s_new(s, fmt, name, 1);
    (void)sn;
    const char *ef = k == K_TENSOR_BF16 ? "S" : elem_formats[rnd_below(8)];
    if (k != K_LIST) {
      char json[128];
      int used = snprintf(json, sizeof json, "{\"shape\":[");
      for (int d = 0; d < ndims[sh]; d++)
        used += snprintf(json + used, sizeof json - (size_t)used, "%s%lld", d ? "," : "",
                         (long long)shapes[sh][d]);
      snprintf(json + used, sizeof json - (size_t)used, "]%s}",
               k == K_TENSOR_BF16 ? ",\"weir_dtype\":\"bfloat16\"" : "");
      tensor_ext(s, json);
    }
    /* The elements: a child of total * per, possibly longer. */
    int64_t elems = total * per + (chance(20) ? rnd_below(5) : 0);
    anode *e = a_new(&n->kids[0], elems, 2, 0);
    uint8_t *vals = a_buf(e, 1, (size_t)elems * 8);
    for (int64_t i = 0; i < elems * 8; i++) vals[i] = (uint8_t)rnd();
    s_new(&sn->kids[0], ef, "item", 0);
    return;
  }
  int varlen = k >= K_UTF8 && k <= K_LBIN;
  anode *n = a_new(a, len, varlen ? 3 : 2, 0);
  a->offset = off;
  a->null_count = 0;
  if (chance(60)) {
    a->null_count = fill_validity(n, total, off, len);
    if (chance(20)) a->null_count = -1;
  } else if (chance(30)) {
    a->null_count = -1; /* unknown, no bitmap */
  }
  s_new(s, kind_formats[k], name, 0);
  if (!varlen) {
    uint8_t *vals = a_buf(n, 1, (size_t)total * 8);
    for (int64_t i = 0; i < total * 8; i++) vals[i] = (uint8_t)rnd();
    if (total == 0 && chance(50)) n->ptrs[1] = NULL; /* allowed when empty */
    return;
  }
  int wide = k == K_LUTF8 || k == K_LBIN;
  int64_t o = rnd_below(4); /* offsets need not start at 0 */
  int64_t *o64 = wide ? a_buf(n, 1, (size_t)(total + 1) * 8) : NULL;
  int32_t *o32 = wide ? NULL : a_buf(n, 1, (size_t)(total + 1) * 4);
  for (int64_t i = 0; i <= total; i++) {
    if (wide) o64[i] = o;
    else o32[i] = (int32_t)o;
    o += rnd_below(6);
  }
  int64_t end = wide ? o64[total] : o32[total];
  char *data = a_buf(n, 2, (size_t)end);
  for (int64_t i = 0; i < end; i++) data[i] = (char)('a' + rnd_below(26));
  if (end == 0 && chance(50)) n->ptrs[2] = NULL; /* no bytes, no buffer */
}

/* A whole case: a struct of 1..MAXK-1 columns (possibly sliced, with
 * its own nulls), or a single plain array at the top. */
typedef struct tcase {
  struct ArrowArray a;
  struct ArrowSchema s;
  int top_struct;
} tcase;

static void make_case(tcase *c) {
  memset(c, 0, sizeof *c);
  int64_t len = chance(10) ? 0 : 1 + rnd_below(40);
  int64_t off = chance(40) ? rnd_below(11) : 0;
  c->top_struct = !chance(15);
  if (!c->top_struct) {
    make_column((int)rnd_below(NKINDS), &c->a, &c->s, "solo", len, off);
    return;
  }
  int nk = 1 + (int)rnd_below(MAXK - 2);
  anode *n = a_new(&c->a, len, 1, nk);
  snode *sn = s_new(&c->s, "+s", "", nk);
  c->a.offset = off;
  c->s.flags = 0;
  c->a.null_count = 0;
  if (chance(25)) c->a.null_count = fill_validity(n, off + len, off, len);
  for (int i = 0; i < nk; i++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", i);
    /* A column may hold more than the struct uses, and its own slice. */
    int64_t coff = chance(30) ? rnd_below(5) : 0;
    int64_t extra = chance(20) ? rnd_below(4) : 0;
    make_column((int)rnd_below(NKINDS), &n->kids[i], &sn->kids[i], name,
                off + len + extra, coff);
  }
}

/* ---- Mutations ----------------------------------------------------------- */

/* A random node: the top, a column or a tensor's elements. */
static void pick_node(tcase *c, struct ArrowArray **a, struct ArrowSchema **s, int *depth) {
  *a = &c->a;
  *s = &c->s;
  *depth = 0;
  anode *an = c->a.private_data;
  snode *sn = c->s.private_data;
  if (an->nk && chance(80)) {
    int i = (int)rnd_below(an->nk);
    *a = &an->kids[i];
    *s = &sn->kids[i];
    *depth = 1;
    an = (*a)->private_data;
    sn = (*s)->private_data;
    if (an && sn && an->nk && sn->nk && chance(40)) {
      *a = &an->kids[0];
      *s = &sn->kids[0];
      *depth = 2;
    }
  }
}

static const char *const garbage_formats[] = {
  "", "q", "+", "+w", "+w:", "+w:-4", "+w:4x", "+w:99999999999", "+w:0", "w:4", "+s",
  "+l", "+L", "+m", "+ud:0,1", "d:10,2", "tdD", "tsu:UTC", "n", "vu", "vz", "I", "L",
  "S", "ll", "U ", "\xff", "i\x01", "lllllllllllllllllllllllllllllllllll", "+w:4,4",
  "+vl", "e", "C", "c", "s",
};

/* Formats of the same width, or the same layout, as the given one: a
 * type confusion that stays inside the buffers. */
static const char *confusable(const char *f) {
  static const char *const fixed[] = {"b", "i", "l", "f", "g", "C", "c", "s", "S",
                                      "I", "L", "e"};
  if (!f) return "l";
  if (f[0] && !f[1] && strchr("bilfgCcsSILe", f[0])) return fixed[rnd_below(12)];
  if (!strcmp(f, "u") || !strcmp(f, "z")) return chance(50) ? "u" : "z";
  if (!strcmp(f, "U") || !strcmp(f, "Z")) return chance(50) ? "U" : "Z";
  if (!strncmp(f, "+w:", 3)) {
    static char buf[24];
    long long n = atoll(f + 3);
    snprintf(buf, sizeof buf, "+w:%lld", n + (chance(50) ? 1 : -1));
    return buf;
  }
  return "+s";
}

static const char *const bad_json[] = {
  "", "{", "}", "{}", "[]", "null", "{\"shape\":}", "{\"shape\":[]}", "{\"shape\":[,]}",
  "{\"shape\":[1,]}", "{\"shape\":[-1]}", "{\"shape\":[-0]}", "{\"shape\":[0]}",
  "{\"shape\":[1e3]}", "{\"shape\":[1.0]}", "{\"shape\":[2,-3]}",
  "{\"shape\":[9223372036854775807,9223372036854775807]}",
  "{\"shape\":[99999999999999999999999]}", "{\"shape\":\"[2,3]\"}",
  "{\"shape\":[2,3],\"shape\":[6]}", "{\"shape\":[1,1,1,1,1,1,1,1,1]}",
  "{\"shape\":[6],\"permutation\":[0]}", "{\"shape\":[2,3],\"permutation\":[1,0]}",
  "{\"shape\":[2,3],\"permutation\":[5,5,5,5,5,5,5,5,5,5,5]}",
  "{\"shape\":[6],\"weir_dtype\":\"bfloat16\"}", "{\"shape\":[6],\"weir_dtype\":7}",
  "{\"shape\":[6],\"dim_names\":[\"a\"],\"x\":{\"y\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
  "[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
  "{\"shape\":[6]", "{\"shape\":[6]}}", "{\"shape\":[6]} trailing", "\"shape\"",
  "{\"sh\\\"ape\":[6]}", "{\"shape\":[6],\"\xff\":\"\xfe\"}", "\xef\xbb\xbf{\"shape\":[6]}",
};

static const char *const odd_names[] = {
  NULL, "", "\xff\xfe", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80", "a\x01" "b",
  "a very long name ......................................................"
  "................................................................................",
  "%s%s%s%n", "'quoted'",
};

static struct ArrowArray dummy_dict_array;
static struct ArrowSchema dummy_dict_schema;

/* Applies one mutation; `desc` says which. `foreign` is 0 for arrays that
 * weir exported, whose child pointer lists its release walks. */
static void mutate(tcase *c, int foreign, char *desc, size_t cap) {
  struct ArrowArray *a;
  struct ArrowSchema *s;
  int depth;
  pick_node(c, &a, &s, &depth);
  if (!a->release) { /* released by an earlier mutation: its buffers are gone */
    snprintf(desc, cap, "nothing (a released node)");
    return;
  }
  int nb = (int)a->n_buffers;
  int64_t big[] = {INT64_MAX, INT64_MAX - 1, (int64_t)((uint64_t)INT64_MAX + 1u - (uint64_t)a->length), INT64_MIN,
                   -1, -7, -((int64_t)1 << 62)};
  int m = (int)rnd_below(28);
  size_t used = (size_t)snprintf(desc, cap, "depth %d '%.24s' (%.24s): ", depth,
                                 s->name ? s->name : "(null)", s->format ? s->format : "(null)");
  desc += used;
  cap -= used;
  switch (m) {
  case 0: {
    const char *f = garbage_formats[rnd_below(sizeof garbage_formats / sizeof *garbage_formats)];
    snprintf(desc, cap, "format -> '%s'", f);
    s_set_format(s, f);
    break;
  }
  case 1: {
    char f[12];
    size_t n = (size_t)rnd_below(sizeof f);
    for (size_t i = 0; i < n; i++) f[i] = (char)(1 + rnd_below(255));
    f[n] = '\0';
    snprintf(desc, cap, "format -> %zu random bytes", n);
    s_set_format(s, f);
    break;
  }
  case 2: {
    char f[32];
    snprintf(f, sizeof f, "%s", s->format ? s->format : "");
    size_t n = strlen(f);
    f[n ? (size_t)rnd_below((int64_t)n) : 0] = '\0';
    snprintf(desc, cap, "format truncated to '%s'", f);
    s_set_format(s, f);
    break;
  }
  case 3: {
    const char *f = confusable(s->format);
    snprintf(desc, cap, "format -> '%s' (same layout)", f);
    s_set_format(s, f);
    break;
  }
  case 4:
    snprintf(desc, cap, "format -> NULL");
    s_set_format(s, NULL);
    break;
  case 5: {
    int64_t v[] = {-1, 0, wadd(a->n_children, 1), wadd(a->n_children, -1), (int64_t)1 << 40};
    int64_t n = v[rnd_below(5)];
    if (chance(50)) {
      snprintf(desc, cap, "array n_children %lld -> %lld", (long long)a->n_children, (long long)n);
      a->n_children = n;
    } else {
      snprintf(desc, cap, "schema n_children %lld -> %lld", (long long)s->n_children, (long long)n);
      s->n_children = n;
    }
    break;
  }
  case 6:
    /* Both sides agree on one more child than there is: the extra
     * slot of the producer's list is NULL. */
    if (foreign && a->n_children < MAXK && s->n_children < MAXK) {
      snprintf(desc, cap, "both n_children + 1 (a NULL child)");
      a->n_children++;
      s->n_children++;
      if (!a->children) a->children = ((anode *)a->private_data)->kid_ptrs;
      if (!s->children) s->children = ((snode *)s->private_data)->kid_ptrs;
    } else {
      snprintf(desc, cap, "nothing");
    }
    break;
  case 7: {
    int64_t v[] = {-1, 0, nb + 1, nb - 1, 1000};
    int64_t n = v[rnd_below(5)];
    snprintf(desc, cap, "n_buffers %d -> %lld", nb, (long long)n);
    a->n_buffers = n;
    break;
  }
  case 8:
    snprintf(desc, cap, "buffers array -> NULL");
    a->buffers = NULL;
    break;
  case 9: {
    int i = nb > 0 && nb <= 3 ? (int)rnd_below(nb) : 0;
    snprintf(desc, cap, "buffer %d -> NULL", i);
    if (a->buffers && nb > 0 && nb <= 3) ((const void **)a->buffers)[i] = NULL;
    break;
  }
  case 10: {
    int64_t v = big[rnd_below(7)];
    snprintf(desc, cap, "length %lld -> %lld", (long long)a->length, (long long)v);
    a->length = v;
    break;
  }
  case 11: {
    /* Shorter is always a consistent claim; longer only for a node whose
     * parent bounds the reads. */
    int64_t v = depth > 0 && chance(50) ? wadd(a->length, 1 + rnd_below(3))
                                        : wadd(a->length, -1 - rnd_below(3));
    snprintf(desc, cap, "length %lld -> %lld", (long long)a->length, (long long)v);
    a->length = v;
    break;
  }
  case 12: {
    int64_t v = big[rnd_below(7)];
    snprintf(desc, cap, "offset %lld -> %lld", (long long)a->offset, (long long)v);
    a->offset = v;
    break;
  }
  case 13: {
    int64_t v[] = {-2, -1, 0, wadd(a->length, 1), a->length, INT64_MAX, INT64_MIN,
                   wadd(a->null_count, 1)};
    int64_t n = v[rnd_below(8)];
    snprintf(desc, cap, "null_count %lld -> %lld", (long long)a->null_count, (long long)n);
    a->null_count = n;
    break;
  }
  case 14:
  case 15:
  case 16: {
    /* String offsets: out of order, negative, or the first above the last. */
    if (!s->format || nb != 3 || !a->buffers || !a->buffers[1] || a->length <= 0 ||
        !foreign || (strcmp(s->format, "u") && strcmp(s->format, "U") &&
                     strcmp(s->format, "z") && strcmp(s->format, "Z"))) {
      snprintf(desc, cap, "nothing (not a string)");
      break;
    }
    int wide = s->format[0] == 'U' || s->format[0] == 'Z';
    int64_t n = a->offset + a->length + 1;
    int64_t i = rnd_below(n), j = rnd_below(n);
    int64_t *o64 = (int64_t *)a->buffers[1];
    int32_t *o32 = (int32_t *)a->buffers[1];
#define OFS(k) (wide ? o64[k] : (int64_t)o32[k])
#define SET(k, v) (wide ? (void)(o64[k] = (v)) : (void)(o32[k] = (int32_t)(v)))
    if (m == 14) {
      int64_t t = OFS(i);
      SET(i, OFS(j));
      SET(j, t);
      snprintf(desc, cap, "offsets %lld and %lld swapped", (long long)i, (long long)j);
    } else if (m == 15) {
      int64_t v = chance(50) ? -1 : (wide ? INT64_MIN : INT32_MIN);
      SET(i, v);
      snprintf(desc, cap, "offset %lld -> %lld", (long long)i, (long long)v);
    } else {
      /* Lowering keeps every byte inside the data. */
      int64_t v = wadd(OFS(i), -1 - rnd_below(3));
      SET(i, v);
      snprintf(desc, cap, "offset %lld lowered to %lld", (long long)i, (long long)v);
    }
#undef OFS
#undef SET
    break;
  }
  case 17:
  case 18: {
    const char *j = bad_json[rnd_below(sizeof bad_json / sizeof *bad_json)];
    snprintf(desc, cap, "extension metadata -> '%.40s'", j);
    tensor_ext(s, j);
    break;
  }
  case 19: {
    /* A valid JSON whose shape disagrees with the list size. */
    char j[64];
    snprintf(j, sizeof j, "{\"shape\":[%lld,%lld]}", (long long)rnd_below(5) - 1,
             (long long)rnd_below(5));
    snprintf(desc, cap, "extension metadata -> '%s'", j);
    tensor_ext(s, j);
    break;
  }
  case 20: {
    const char *kv[4] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                         "ARROW:extension:metadata", "{\"shape\":[6]}"};
    int item = (int)rnd_below(4);
    int32_t v = chance(50) ? -1 : INT32_MIN;
    snprintf(desc, cap, "metadata item %d length -> %d", item, (int)v);
    s_set_metadata(s, 2, kv, item, v);
    break;
  }
  case 21: {
    static const char *const names[] = {"arrow.fixed_shape_tensor ", "", "\xff",
                                        "arrow.fixed_shape_tenso", "other.ext"};
    const char *kv[2] = {"ARROW:extension:name", names[rnd_below(5)]};
    snprintf(desc, cap, "extension name -> '%s', no metadata", kv[1]);
    s_set_metadata(s, 1, kv, -1, 0);
    break;
  }
  case 22: {
    const char *nm = odd_names[rnd_below(sizeof odd_names / sizeof *odd_names)];
    snprintf(desc, cap, "name -> %s", nm ? "odd bytes" : "NULL");
    if (foreign) s_set_name(s, nm);
    else s->name = nm; /* weir's release frees its own copy */
    break;
  }
  case 23:
    snprintf(desc, cap, "flags -> random");
    s->flags = (int64_t)rnd();
    break;
  case 24:
    snprintf(desc, cap, "dictionary set");
    if (chance(50)) a->dictionary = &dummy_dict_array;
    else s->dictionary = &dummy_dict_schema;
    break;
  case 25:
    if (foreign && a->n_children > 0 && a->children && s->children) {
      int i = (int)rnd_below(a->n_children < MAXK ? a->n_children : MAXK);
      int on_array = chance(50);
      snprintf(desc, cap, "child %d pointer -> NULL (%s)", i, on_array ? "array" : "schema");
      if (on_array) a->children[i] = NULL;
      else s->children[i] = NULL;
    } else {
      snprintf(desc, cap, "nothing");
    }
    break;
  case 26:
    if (foreign && a->n_children > 0) {
      snprintf(desc, cap, "children array -> NULL");
      if (chance(50)) a->children = NULL;
      else s->children = NULL;
    } else {
      snprintf(desc, cap, "nothing");
    }
    break;
  default:
    if (foreign && a->n_children > 0 && a->children && a->children[0] &&
        a->children[0]->release && depth == 0) {
      /* A child the producer already released: its node stays in the
       * arena, so the parent's release skips it and nothing leaks. */
      struct ArrowArray *k = a->children[0];
      snprintf(desc, cap, "child 0 already released");
      k->release(k);
    } else {
      snprintf(desc, cap, "nothing");
    }
    break;
  }
}

/* ---- Reading every value of an imported block --------------------------- */

static uint64_t read_all(const weir_block *b) {
  uint64_t sum = 0;
  size_t rows = weir_block_num_rows(b);
  for (size_t c = 0; c < weir_block_num_columns(b); c++) {
    weir_column col;
    cr_assert_eq(weir_block_column(b, c, &col), WEIR_OK);
    cr_assert_eq(col.length, rows);
    sum += strlen(col.name);
    size_t nulls = 0;
    for (size_t i = 0; i < rows; i++) {
      int valid = !col.validity || ((col.validity[i / 8] >> (i % 8)) & 1);
      nulls += !valid;
      switch (col.type) {
      case WEIR_TYPE_BOOL:
        sum += (((const uint8_t *)col.data)[i / 8] >> (i % 8)) & 1;
        break;
      case WEIR_TYPE_INT32:
      case WEIR_TYPE_FLOAT32:
        sum += ((const uint32_t *)col.data)[i];
        break;
      case WEIR_TYPE_INT64:
      case WEIR_TYPE_FLOAT64:
        sum += ((const uint64_t *)col.data)[i];
        break;
      case WEIR_TYPE_STRING:
      case WEIR_TYPE_BINARY: {
        cr_assert_leq(col.offsets[i], col.offsets[i + 1], "offsets out of order at %zu", i);
        for (int64_t k = col.offsets[i]; k < col.offsets[i + 1]; k++)
          sum += ((const uint8_t *)col.data)[k];
        break;
      }
      case WEIR_TYPE_TENSOR: {
        size_t w = weir_dtype_size(col.dtype);
        cr_assert(col.ndim >= 1 && col.ndim <= 8);
        for (int d = 0; d < col.ndim; d++) {
          cr_assert_geq(col.shape[d], 0);
          w *= (size_t)col.shape[d];
        }
        for (size_t k = 0; k < w; k++) sum += ((const uint8_t *)col.data)[i * w + k];
        break;
      }
      default:
        cr_assert_fail("column %zu has unknown type %d", c, col.type);
      }
    }
    cr_assert_eq(nulls, col.null_count, "column '%s': null count", col.name);
  }
  return sum;
}

/* ---- The foreign-producer mutation run ---------------------------------- */

typedef struct tally {
  int ok, eformat, enotsup, einval;
} tally;

static int arena_releases(int *bad_node) {
  for (int i = 0; i < n_anodes; i++)
    if (anodes[i]->releases > 1) *bad_node = 1;
  for (int i = 0; i < n_snodes; i++)
    if (snodes[i]->releases > 1) *bad_node = 1;
  return ((anode *)anodes[0])->releases + ((snode *)snodes[0])->releases;
}

static volatile uint64_t sink;

static int run_case(uint64_t seed, int n_mut, tally *t) {
  rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
  tcase c;
  make_case(&c);
  char desc[4][160] = {{0}};
  for (int k = 0; k < n_mut; k++) mutate(&c, 1, desc[k], sizeof desc[k]);
  /* A crash loses the assertion's text: WEIR_MUTATE_TRACE=1 prints each
   * case before it runs. */
  if (getenv("WEIR_MUTATE_TRACE"))
    fprintf(stderr, "seed %llu: [%s] [%s] [%s] [%s]\n", (unsigned long long)seed, desc[0],
            desc[1], desc[2], desc[3]);
#define CASE "seed %llu, mutations [%s] [%s] [%s] [%s]", (unsigned long long)seed, \
    desc[0], desc[1], desc[2], desc[3]
  weir_block *out = (weir_block *)&c; /* must be reset */
  int rc = weir_block_from_arrow(&c.a, &c.s, &out);
  cr_assert_null(c.a.release, CASE);
  cr_assert_null(c.s.release, CASE);
  if (rc == WEIR_OK) {
    cr_assert_not_null(out, CASE);
    sink += read_all(out);
    sink += weir_block_nbytes(out);
    weir_block_unref(&out);
    t->ok++;
  } else {
    cr_assert_null(out, CASE);
    cr_assert(rc == WEIR_EFORMAT || rc == WEIR_ENOTSUP || rc == WEIR_EINVAL,
              "rc %s (%s); " CASE, weir_err_name(rc), weir_last_errmsg());
    const char *msg = weir_last_errmsg();
    cr_assert(msg && (strstr(msg, "arrow import") || strstr(msg, "weir_block_from_arrow")),
              "message '%s'; " CASE, msg ? msg : "(null)");
    if (rc == WEIR_EFORMAT) t->eformat++;
    else if (rc == WEIR_ENOTSUP) t->enotsup++;
    else t->einval++;
  }
  int bad_node = 0;
  int top = arena_releases(&bad_node);
  cr_assert_eq(top, 2, "top array + schema released %d times in all; " CASE, top);
  cr_assert_eq(bad_node, 0, "a node released twice; " CASE);
  cr_assert_eq(bad_release, 0, "release called on a released struct; " CASE);
  for (int i = 0; i < n_anodes; i++)
    for (int b = 0; b < 3; b++)
      cr_assert_null(anodes[i]->owned[b], "array node %d not released; " CASE, i);
#undef CASE
  arena_free();
  return rc;
}

Test(arrow_mutate, valid_foreign_arrays_of_every_type_import) {
  tally t = {0};
  for (uint64_t seed = 1; seed <= 300; seed++) {
    int rc = run_case(seed, 0, &t);
    cr_assert_eq(rc, WEIR_OK, "seed %llu: %s", (unsigned long long)seed, weir_last_errmsg());
  }
  cr_assert_eq(t.ok, 300, "valid cases rejected: %d EFORMAT, %d ENOTSUP", t.eformat, t.enotsup);
}

Test(arrow_mutate, one_mutation) {
  tally t = {0};
  for (uint64_t seed = 1000; seed < 4000; seed++) run_case(seed, 1, &t);
  cr_log_info("one mutation: %d ok, %d EFORMAT, %d ENOTSUP, %d EINVAL", t.ok, t.eformat,
              t.enotsup, t.einval);
  cr_assert_gt(t.eformat, 500);
  cr_assert_gt(t.enotsup, 20);
  cr_assert_gt(t.ok, 100);
}

Test(arrow_mutate, several_mutations) {
  tally t = {0};
  for (uint64_t seed = 5000; seed < 8000; seed++) run_case(seed, 2 + (int)(seed % 3), &t);
  cr_log_info("several mutations: %d ok, %d EFORMAT, %d ENOTSUP, %d EINVAL", t.ok,
              t.eformat, t.enotsup, t.einval);
  cr_assert_gt(t.eformat, 700);
}

/* ---- Arrays exported by weir itself, mutated ------------------------------
 * weir's release walks its own child list, so only the fields a consumer
 * may see change without breaking the producer are mutated: scalars,
 * buffer pointers, schema strings. The top-level release callbacks are
 * wrapped to count their calls. */

static void (*orig_array_release)(struct ArrowArray *);
static void (*orig_schema_release)(struct ArrowSchema *);
static int weir_array_releases, weir_schema_releases;

static void counting_array_release(struct ArrowArray *a) {
  weir_array_releases++;
  orig_array_release(a);
}
static void counting_schema_release(struct ArrowSchema *s) {
  weir_schema_releases++;
  orig_schema_release(s);
}

static weir_block *make_weir_block(size_t rows) {
  weir_builder *bld = NULL;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  static const int types[] = {WEIR_TYPE_BOOL, WEIR_TYPE_INT32, WEIR_TYPE_INT64,
                              WEIR_TYPE_FLOAT32, WEIR_TYPE_FLOAT64, WEIR_TYPE_STRING};
  for (int i = 0; i < 6; i++) {
    char name[8];
    snprintf(name, sizeof name, "w%d", i);
    cr_assert_eq(weir_builder_add_column(bld, name, types[i]), WEIR_OK);
  }
  int64_t shape[2] = {2, 2};
  cr_assert_eq(weir_builder_add_tensor_column(bld, "w6", WEIR_DTYPE_BFLOAT16, 2, shape),
               WEIR_OK);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < 7; c++) {
      if ((r + c) % 4 == 3) {
        cr_assert_eq(weir_builder_append_null(bld, c), WEIR_OK);
        continue;
      }
      int rc;
      switch (c) {
      case 0: rc = weir_builder_append_bool(bld, c, (int)(r & 1)); break;
      case 1: case 2: rc = weir_builder_append_int64(bld, c, (int64_t)r * 3); break;
      case 3: case 4: rc = weir_builder_append_float64(bld, c, (double)r / 2); break;
      case 5: rc = weir_builder_append_string(bld, c, "hello", r % 6); break;
      default: {
        uint16_t v[4] = {1, 2, 3, (uint16_t)r};
        rc = weir_builder_append_tensor(bld, c, v);
      }
      }
      cr_assert_eq(rc, WEIR_OK);
    }
  }
  weir_block *b = NULL;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  return b;
}

/* The mutations that keep weir's own release working. */
typedef struct xnodes {
  struct ArrowArray *a[32];
  struct ArrowSchema *s[32];
  int n;
} xnodes;

/* Lists the nodes of a fresh export, before any field is mutated. */
static void list_nodes(xnodes *x, struct ArrowArray *a, struct ArrowSchema *s) {
  cr_assert_lt(x->n, 32);
  x->a[x->n] = a;
  x->s[x->n++] = s;
  for (int64_t i = 0; i < a->n_children; i++) list_nodes(x, a->children[i], s->children[i]);
}

static void mutate_exported(const xnodes *x, char *desc, size_t cap) {
  int pick = (int)rnd_below(x->n);
  struct ArrowArray *a = x->a[pick];
  struct ArrowSchema *s = x->s[pick];
  int64_t big[] = {INT64_MAX, (int64_t)((uint64_t)INT64_MAX + 1u - (uint64_t)a->length), INT64_MIN, -1, -3};
  int m = (int)rnd_below(12);
  size_t used = (size_t)snprintf(desc, cap, "'%.24s' (%.24s): ", s->name ? s->name : "(null)",
                                 s->format ? s->format : "(null)");
  desc += used;
  cap -= used;
  switch (m) {
  case 0:
    s->format = garbage_formats[rnd_below(sizeof garbage_formats / sizeof *garbage_formats)];
    snprintf(desc, cap, "format -> '%s'", s->format);
    break;
  case 1:
    s->format = NULL;
    snprintf(desc, cap, "format -> NULL");
    break;
  case 2:
    a->length = big[rnd_below(5)];
    snprintf(desc, cap, "length -> %lld", (long long)a->length);
    break;
  case 3:
    a->length = wadd(a->length, -1 - rnd_below(3));
    snprintf(desc, cap, "length -> %lld", (long long)a->length);
    break;
  case 4:
    a->offset = big[rnd_below(5)];
    snprintf(desc, cap, "offset -> %lld", (long long)a->offset);
    break;
  case 5: {
    int64_t v[] = {-2, wadd(a->length, 1), INT64_MAX, wadd(a->null_count, 1)};
    a->null_count = v[rnd_below(4)];
    snprintf(desc, cap, "null_count -> %lld", (long long)a->null_count);
    break;
  }
  case 6:
    a->n_buffers = wadd(a->n_buffers, chance(50) ? 1 : -1);
    snprintf(desc, cap, "n_buffers -> %lld", (long long)a->n_buffers);
    break;
  case 7:
    if (chance(50)) a->n_children = wadd(a->n_children, chance(50) ? 1 : -1);
    else s->n_children = wadd(s->n_children, chance(50) ? 1 : -1);
    snprintf(desc, cap, "n_children -> %lld / %lld", (long long)a->n_children,
             (long long)s->n_children);
    break;
  case 8:
    if (a->buffers && a->n_buffers > 0 && a->n_buffers <= 3) {
      int64_t i = rnd_below(a->n_buffers);
      ((const void **)a->buffers)[i] = NULL;
      snprintf(desc, cap, "buffer %lld -> NULL", (long long)i);
    } else {
      snprintf(desc, cap, "nothing");
    }
    break;
  case 9:
    s->metadata = NULL;
    snprintf(desc, cap, "metadata -> NULL");
    break;
  case 10:
    s->name = odd_names[rnd_below(sizeof odd_names / sizeof *odd_names)];
    snprintf(desc, cap, "name -> odd");
    break;
  default:
    a->buffers = NULL;
    snprintf(desc, cap, "buffers array -> NULL");
    break;
  }
}

Test(arrow_mutate, weir_exported_arrays_mutated) {
  weir_block *src = make_weir_block(37);
  tally t = {0};
  for (uint64_t seed = 1; seed <= 1000; seed++) {
    rng_state = seed * 0x9E3779B97F4A7C15ull + 7;
    struct ArrowArray a;
    struct ArrowSchema s;
    cr_assert_eq(weir_block_to_arrow(src, &a, &s), WEIR_OK);
    orig_array_release = a.release;
    orig_schema_release = s.release;
    a.release = counting_array_release;
    s.release = counting_schema_release;
    weir_array_releases = weir_schema_releases = 0;
    char desc[2][160] = {{0}};
    int n_mut = 1 + (int)(seed % 2);
    xnodes x = {.n = 0};
    list_nodes(&x, &a, &s);
    for (int k = 0; k < n_mut; k++) mutate_exported(&x, desc[k], sizeof desc[k]);
    weir_block *out = NULL;
    int rc = weir_block_from_arrow(&a, &s, &out);
    cr_assert_null(a.release, "seed %llu [%s] [%s]", (unsigned long long)seed, desc[0], desc[1]);
    cr_assert_null(s.release, "seed %llu [%s] [%s]", (unsigned long long)seed, desc[0], desc[1]);
    cr_assert_eq(weir_schema_releases, 1, "seed %llu [%s] [%s]", (unsigned long long)seed,
                 desc[0], desc[1]);
    if (rc == WEIR_OK) {
      cr_assert_eq(weir_array_releases, 0);
      sink += read_all(out);
      weir_block_unref(&out);
      t.ok++;
    } else {
      cr_assert_null(out);
      cr_assert(rc == WEIR_EFORMAT || rc == WEIR_ENOTSUP, "seed %llu [%s] [%s]: %s (%s)",
                (unsigned long long)seed, desc[0], desc[1], weir_err_name(rc),
                weir_last_errmsg());
      cr_assert(strstr(weir_last_errmsg(), "arrow import"), "%s", weir_last_errmsg());
      t.eformat += rc == WEIR_EFORMAT;
      t.enotsup += rc == WEIR_ENOTSUP;
    }
    cr_assert_eq(weir_array_releases, 1, "seed %llu [%s] [%s]: array released %d times",
                 (unsigned long long)seed, desc[0], desc[1], weir_array_releases);
  }
  cr_log_info("exported: %d ok, %d EFORMAT, %d ENOTSUP", t.ok, t.eformat, t.enotsup);
  cr_assert_gt(t.eformat, 200);
  weir_block_unref(&src);
}
