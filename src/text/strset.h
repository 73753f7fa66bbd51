/* A hash set of byte strings with a count and first-seen order per entry,
 * for the duplicate counts of the repetition rules (Python's set and
 * Counter, with Counter.most_common's first-inserted tie break). */
#ifndef WEIR_TEXT_STRSET_H
#define WEIR_TEXT_STRSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct weir__strset {
  struct weir__strent { uint64_t hash; const char *s; size_t len; size_t count, order; } *slots;
  size_t cap, n;
} weir__strset;

/* Empties the set (keeps its memory); the strings are borrowed. */
int  weir__strset_reset(weir__strset *set, size_t expected);
void weir__strset_free(weir__strset *set);
/* Adds one occurrence; returns the count before (0 = new), or -1 when out
 * of memory. */
long weir__strset_add(weir__strset *set, const char *s, size_t len);
uint64_t weir__strhash(const char *s, size_t len);

#endif /* WEIR_TEXT_STRSET_H */
