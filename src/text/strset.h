/* A hash set of byte strings with a count and first-seen order per entry,
 * for the duplicate counts of the repetition rules (Python's set and
 * Counter, with Counter.most_common's first-inserted tie break). */
#ifndef WEIR_TEXT_STRSET_H
#define WEIR_TEXT_STRSET_H

#include <stddef.h>
#include <stdint.h>

/* An entry is live when its `gen` is the set's: emptying the set is one
 * increment, not a clear of the table (the repetition filter empties it
 * nine times per document). */
typedef struct weir__strset {
  struct weir__strent {
    uint64_t hash;
    const char *s;
    size_t len;
    size_t count, order;
    uint32_t gen;
  } *slots;
  size_t cap, n;
  uint32_t gen;
} weir__strset;

/* Empties the set (keeps its memory unless it is far larger than
 * `expected` entries need); the strings are borrowed. */
int  weir__strset_reset(weir__strset *set, size_t expected);
void weir__strset_free(weir__strset *set);
/* Adds one occurrence; returns the count before (0 = new), or -1 when out
 * of memory. */
long weir__strset_add(weir__strset *set, const char *s, size_t len);
/* The same with the string's hash already known (any well-mixed 64-bit
 * hash, used the same way for every string of the set): strings are still
 * compared byte for byte when hashes match. */
long weir__strset_add_hashed(weir__strset *set, const char *s, size_t len, uint64_t h);
/* Whether slot i holds an entry of the set as it is now. */
static inline int weir__strset_live(const weir__strset *set, size_t i) {
  return set->slots[i].gen == set->gen && set->slots[i].count;
}
uint64_t weir__strhash(const char *s, size_t len);
/* The final mix of weir__strhash, for hashes made elsewhere (inline: the
 * repetition filter mixes one per n-gram). */
static inline uint64_t weir__strhash_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

#endif /* WEIR_TEXT_STRSET_H */
