/* Internals of the deduplication operators: the DPK key normalisation and
 * the set of seen 128-bit keys that spills to disk in sorted runs. */
#ifndef WEIR_TEXT_DEDUP_H
#define WEIR_TEXT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

/* Appends the DPK ededup normalisation of s[0..len) (valid UTF-8) to
 * *buf (realloc'd, *cap its size), setting *out_len. WEIR_OK or
 * WEIR_ENOMEM. */
int weir__dedup_norm_dpk(const char *s, size_t len, char **buf, size_t *cap, size_t *out_len);

/* XXH3-128 of data[0..len): h[0] the low 64 bits, h[1] the high. */
void weir__xxh128(const void *data, size_t len, uint64_t h[2]);

/* The seen keys: a table in memory of at most `limit` bytes; when full it
 * is sorted and appended as a run to an unlinked file in `spill_dir`
 * (NULL = $WEIR_SPILL_DIR, $TMPDIR, /tmp), with a Bloom filter and a
 * sparse index of each run kept in memory. Keys are unique across the
 * table and the runs. */
typedef struct weir__seen weir__seen;
int  weir__seen_create(size_t limit, const char *spill_dir, weir__seen **out);
void weir__seen_destroy(weir__seen *s);
/* Looks `key` up: seen before gives 1 and its ordinal in *first; else
 * it is added with ordinal `ord` and 0 is returned. A negative WEIR_E*
 * on an I/O failure, with weir__seen_errmsg() saying what. */
int  weir__seen_check(weir__seen *s, const uint64_t key[2], uint64_t ord, uint64_t *first);
const char *weir__seen_errmsg(const weir__seen *s);
/* Bytes written to the spill file and runs made so far. */
uint64_t weir__seen_spilled_bytes(const weir__seen *s);
uint64_t weir__seen_runs(const weir__seen *s);

#endif /* WEIR_TEXT_DEDUP_H */
