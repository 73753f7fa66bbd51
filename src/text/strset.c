/* An open-addressing hash set of borrowed byte strings with counts. */
#include <stdlib.h>
#include <string.h>

#include "text/strset.h"

uint64_t weir__strhash(const char *s, size_t len) {
  /* FNV-1a over 8-byte words, then a final mix: fast on short strings. */
  uint64_t h = 0xcbf29ce484222325ULL ^ len;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return weir__strhash_mix(h);
}

int weir__strset_reset(weir__strset *set, size_t expected) {
  size_t want = 16;
  while (want < expected * 2)
    want *= 2;
  /* A table grown by one huge document is not walked for every small one. */
  if (set->cap < want || set->cap > 64 * want) {
    free(set->slots);
    set->slots = calloc(want, sizeof *set->slots);
    if (!set->slots) {
      set->cap = 0;
      return -1;
    }
    set->cap = want;
    set->gen = 1;
  } else if (++set->gen == 0) {
    memset(set->slots, 0, set->cap * sizeof *set->slots);
    set->gen = 1;
  }
  set->n = 0;
  return 0;
}

void weir__strset_free(weir__strset *set) {
  free(set->slots);
  set->slots = NULL;
  set->cap = set->n = 0;
}

static int grow(weir__strset *set) {
  size_t nc = set->cap ? set->cap * 2 : 16;
  struct weir__strent *ns = calloc(nc, sizeof *ns);
  if (!ns)
    return -1;
  if (!set->gen)
    set->gen = 1;
  for (size_t i = 0; i < set->cap; i++) {
    if (!weir__strset_live(set, i))
      continue;
    size_t j = set->slots[i].hash & (nc - 1);
    while (ns[j].gen == set->gen)
      j = (j + 1) & (nc - 1);
    ns[j] = set->slots[i];
  }
  free(set->slots);
  set->slots = ns;
  set->cap = nc;
  return 0;
}

long weir__strset_add_hashed(weir__strset *set, const char *s, size_t len, uint64_t h) {
  if (((set->n + 1) * 2 > set->cap || !set->gen) && grow(set))
    return -1;
  size_t j = h & (set->cap - 1);
  while (weir__strset_live(set, j)) {
    struct weir__strent *e = &set->slots[j];
    if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
      return (long)e->count++;
    j = (j + 1) & (set->cap - 1);
  }
  set->slots[j] = (struct weir__strent){h, s, len, 1, set->n++, set->gen};
  return 0;
}

long weir__strset_add(weir__strset *set, const char *s, size_t len) {
  return weir__strset_add_hashed(set, s, len, weir__strhash(s, len));
}
