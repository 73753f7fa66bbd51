/* Removing an earlier run's leftovers under a writer's output names. */
#ifndef WEIR_IO_STALE_SHARDS_H
#define WEIR_IO_STALE_SHARDS_H

#include <stddef.h>

/* In local folder `dir`, removes every file named by weir's pattern for
 * this output that this run did not write. `folder`: the output is a
 * folder and its names are "<stem>-NNNNN<ext>[.zst|.gz]" with stem
 * "part"; else a file output, also "<stem><ext>[.zst|.gz]". This run wrote
 * `stem + suffix` (single) or shards 0..written-1 with `suffix` (the
 * format's ext plus the codec's). In a folder, shards of every codec are
 * the output's; a file output only owns names with its own suffix (the
 * caller may keep f.jsonl beside f.jsonl.zst). Best effort: a name that
 * cannot be removed stays. */
void weir__stale_shards_remove(const char *dir, const char *stem, int folder,
                               const char *ext, const char *suffix, int single,
                               size_t written);

#endif /* WEIR_IO_STALE_SHARDS_H */
