/* Hive-style partition columns: the `key=value` folders between the root
 * a reader was given and each file become columns of that file's rows,
 * typed as pyarrow and DuckDB infer them (integers when every value of a
 * key parses as one, else strings; `__HIVE_DEFAULT_PARTITION__` is null;
 * values are %-decoded). */
#ifndef WEIR_PARQUET_HIVE_H
#define WEIR_PARQUET_HIVE_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"

typedef struct pq_hive_key {
  char *name;
  int is_int;      /* every non-null value parsed as an int64 */
} pq_hive_key;

typedef struct pq_hive {
  pq_hive_key *keys;   /* in the order first met (depth, then file order) */
  size_t nkeys;
  size_t nfiles;
  char **vals;         /* vals[file * nkeys + key]: decoded, NULL = null */
  int64_t *ivals;      /* the same as integers, for is_int keys */
} pq_hive;

/* Finds the partition keys of `uris[0..n)` read from `root` (the uri the
 * reader was given: a folder, prefix or glob; its part before the first
 * glob character is cut from each file's path). A file without a key has
 * null there. A folder such as `k=v=w` or `=v` is not a partition. */
int  weir__pq_hive_discover(const char *root, const char *const *uris, size_t n,
                            pq_hive *h, char *err, size_t errlen);
void weir__pq_hive_free(pq_hive *h);
int  weir__pq_hive_index(const pq_hive *h, const char *name); /* -1 when none */

/* Replaces `*b` (taken) by the block with the partition columns of file
 * `file` added (those for which want(name) is 1, in key order), each a
 * constant of the block's rows. */
int weir__pq_hive_add(const pq_hive *h, size_t file, int (*want)(const char *, void *),
                      void *arg, weir_block **b);

#endif /* WEIR_PARQUET_HIVE_H */
