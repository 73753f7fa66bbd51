/* The tokenizer's tables: a string arena, the bytes -> id and pair -> merge
 * hash maps, per-id spellings, and GPT-2's byte <-> character mapping. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer/tok.h"
#include "weir/error.h"

struct tok_arena_blk {
  struct tok_arena_blk *next;
  size_t used, cap;
  _Alignas(16) char data[];
};

void *weir__tok_alloc(tok_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  struct tok_arena_blk *b = a->blk;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > (1u << 20) ? n : (1u << 20);
    b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = a->blk;
    a->blk = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

char *weir__tok_strdup(tok_arena *a, const char *s, size_t len) {
  char *p = weir__tok_alloc(a, len + 1);
  if (p) {
    memcpy(p, s, len);
    p[len] = 0;
  }
  return p;
}

void weir__tok_arena_free(tok_arena *a) {
  for (struct tok_arena_blk *b = a->blk, *nx; b; b = nx) {
    nx = b->next;
    free(b);
  }
  a->blk = NULL;
}

/* FNV-1a over 8-byte words: short keys (most pre-tokens) hash in a few
 * multiplications. */
uint64_t weir__tok_hash(const char *s, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull ^ (len * 0x9E3779B97F4A7C15ull);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  memcpy(&w, s + i, len - i);
  h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

static int map_grow(tok_map *m) {
  size_t cap = m->e ? (m->mask + 1) * 2 : 1024;
  struct tok_ment *e = malloc(cap * sizeof *e);
  if (!e)
    return WEIR_ENOMEM;
  for (size_t i = 0; i < cap; i++)
    e[i].s = NULL;
  if (m->e) {
    for (size_t i = 0; i <= m->mask; i++) {
      if (!m->e[i].s)
        continue;
      size_t j = (size_t)m->e[i].hash & (cap - 1);
      while (e[j].s)
        j = (j + 1) & (cap - 1);
      e[j] = m->e[i];
    }
    free(m->e);
  }
  m->e = e;
  m->mask = cap - 1;
  return WEIR_OK;
}

int weir__tok_map_put(tok_map *m, const char *s, size_t len, int32_t id) {
  if ((!m->e || (m->n + 1) * 2 > m->mask + 1) && map_grow(m))
    return WEIR_ENOMEM;
  uint64_t h = weir__tok_hash(s, len);
  size_t i = (size_t)h & m->mask;
  for (; m->e[i].s; i = (i + 1) & m->mask)
    if (m->e[i].hash == h && m->e[i].len == len && memcmp(m->e[i].s, s, len) == 0) {
      m->e[i].id = id;
      return WEIR_OK;
    }
  m->e[i] = (struct tok_ment){h, s ? s : "", (uint32_t)len, id};
  m->n++;
  return WEIR_OK;
}

int32_t weir__tok_map_get(const tok_map *m, const char *s, size_t len) {
  if (!m->e)
    return -1;
  uint64_t h = weir__tok_hash(s, len);
  for (size_t i = (size_t)h & m->mask; m->e[i].s; i = (i + 1) & m->mask)
    if (m->e[i].hash == h && m->e[i].len == len && memcmp(m->e[i].s, s, len) == 0)
      return m->e[i].id;
  return -1;
}

void weir__tok_map_free(tok_map *m) {
  free(m->e);
  memset(m, 0, sizeof *m);
}

static int pairs_grow(tok_pairs *m) {
  size_t cap = m->e ? (m->mask + 1) * 2 : 1024;
  struct tok_pent *e = malloc(cap * sizeof *e);
  if (!e)
    return WEIR_ENOMEM;
  for (size_t i = 0; i < cap; i++)
    e[i].key = UINT64_MAX;
  if (m->e) {
    for (size_t i = 0; i <= m->mask; i++) {
      if (m->e[i].key == UINT64_MAX)
        continue;
      uint64_t h = m->e[i].key * 0x9E3779B97F4A7C15ull;
      size_t j = (size_t)(h >> 20) & (cap - 1);
      while (e[j].key != UINT64_MAX)
        j = (j + 1) & (cap - 1);
      e[j] = m->e[i];
    }
    free(m->e);
  }
  m->e = e;
  m->mask = cap - 1;
  return WEIR_OK;
}

int weir__tok_pairs_put(tok_pairs *m, int32_t a, int32_t b, uint32_t rank, int32_t id) {
  if ((!m->e || (m->n + 1) * 2 > m->mask + 1) && pairs_grow(m))
    return WEIR_ENOMEM;
  uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 20) & m->mask;
  for (; m->e[i].key != UINT64_MAX; i = (i + 1) & m->mask)
    if (m->e[i].key == key)
      return WEIR_OK;
  m->e[i] = (struct tok_pent){key, rank, id};
  m->n++;
  return WEIR_OK;
}

void weir__tok_pairs_free(tok_pairs *m) {
  free(m->e);
  memset(m, 0, sizeof *m);
}

int weir__tok_set_size(weir_tokenizer *t, size_t size) {
  if (size <= t->size)
    return WEIR_OK;
  const char **sp = realloc(t->spell, size * sizeof *sp);
  if (!sp)
    return WEIR_ENOMEM;
  t->spell = sp;
  uint32_t *sl = realloc(t->spell_len, size * sizeof *sl);
  if (!sl)
    return WEIR_ENOMEM;
  t->spell_len = sl;
  const char **rw = realloc(t->raw, size * sizeof *rw);
  if (!rw)
    return WEIR_ENOMEM;
  t->raw = rw;
  uint32_t *rl = realloc(t->raw_len, size * sizeof *rl);
  if (!rl)
    return WEIR_ENOMEM;
  t->raw_len = rl;
  uint8_t *fl = realloc(t->flags, size);
  if (!fl)
    return WEIR_ENOMEM;
  t->flags = fl;
  for (size_t i = t->size; i < size; i++) {
    sp[i] = rw[i] = NULL;
    sl[i] = rl[i] = 0;
    fl[i] = 0;
  }
  t->size = size;
  return WEIR_OK;
}

/* Records the spelling of `id` (copied), growing the id space. */
int weir__tok_set_token(weir_tokenizer *t, int32_t id, const char *s, size_t len) {
  if (id < 0)
    return WEIR_EINVAL;
  if (weir__tok_set_size(t, (size_t)id + 1))
    return WEIR_ENOMEM;
  char *c = weir__tok_strdup(&t->arena, s, len);
  if (!c)
    return WEIR_ENOMEM;
  t->spell[id] = t->raw[id] = c;
  t->spell_len[id] = t->raw_len[id] = (uint32_t)len;
  return weir__tok_map_put(&t->spell_map, c, len, id);
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for
 * themselves, the others for 256 + their rank among them. Built once,
 * for every thread (pthread_once), with its inverse. */
static uint32_t bl_map[256];
static int16_t bl_inv[324];
static pthread_once_t bl_once = PTHREAD_ONCE_INIT;

static void bl_init(void) {
  uint32_t n = 0;
  for (unsigned x = 0; x < 256; x++) {
    int keep = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
    bl_map[x] = keep ? x : 256 + n++;
  }
  for (size_t i = 0; i < 324; i++)
    bl_inv[i] = -1;
  for (unsigned b = 0; b < 256; b++)
    bl_inv[bl_map[b]] = (int16_t)b;
}

uint32_t weir__bytelevel_char(unsigned b) {
  pthread_once(&bl_once, bl_init);
  return bl_map[b & 0xFF];
}

size_t weir__utf8_put(char *o, uint32_t c) {
  if (c < 0x80) { o[0] = (char)c; return 1; }
  if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
  if (c < 0x10000) {
    o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

long weir__bytelevel_unmap(const char *s, size_t len, char *out) {
  pthread_once(&bl_once, bl_init);
  const int16_t *inv = bl_inv;
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0;
  while (i < len) {
    uint32_t c = u[i];
    if (c < 0x80) {
      i++;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < len) {
      c = ((c & 0x1F) << 6) | (u[i + 1] & 0x3F);
      i += 2;
    } else {
      return -1; /* every mapped character is below U+0800 */
    }
    if (c >= 324 || inv[c] < 0)
      return -1;
    out[o++] = (char)inv[c];
  }
  return (long)o;
}
