/* Internals of the deduplication operators: the DPK key normalisation and
 * the set of seen 128-bit keys that spills to disk in sorted runs. */
#ifndef WEIR_TEXT_DEDUP_H
#define WEIR_TEXT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "text/table_mem.h"

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
 * table and the runs. Its memory counts in `mem` (NULL = nowhere): the
 * table grows only while the budget has room, else it spills earlier. */
typedef struct weir__seen weir__seen;
int  weir__seen_create(size_t limit, const char *spill_dir, weir__tabmem *mem,
                       weir__seen **out);
void weir__seen_destroy(weir__seen *s);
/* Looks `key` up: seen before gives 1 and its ordinal in *first; else
 * it is added with ordinal `ord` and 0 is returned. A negative WEIR_E*
 * on an I/O failure, with weir__seen_errmsg() saying what. */
int  weir__seen_check(weir__seen *s, const uint64_t key[2], uint64_t ord, uint64_t *first);
const char *weir__seen_errmsg(const weir__seen *s);
/* Bytes written to the spill file and runs made so far. */
uint64_t weir__seen_spilled_bytes(const weir__seen *s);
uint64_t weir__seen_runs(const weir__seen *s);

/* The best row of each key, for weir_dedup_exact's priority mode: an
 * open-addressing table of (key, priority, ordinal) keeping, per key, the
 * row with the highest encoded priority (a null priority loses to any
 * value; ties: the smaller ordinal, the first seen). Past `limit` bytes
 * the table is sorted by key and appended to an unlinked spill file as a
 * run. weir__prio_finish merges the table and the runs, key by key, into
 * a bitmap of the winning ordinals (one bit per row). Its memory (table,
 * merge buffers, bitmap) counts in `mem` (NULL = nowhere), as for
 * weir__seen. */
typedef struct weir__prio weir__prio;
int  weir__prio_create(size_t limit, const char *spill_dir, weir__tabmem *mem,
                       weir__prio **out);
void weir__prio_destroy(weir__prio *t);
/* Row `ord` (ascending from call to call) with key `key` and encoded
 * priority `prio` (`has` 0: null). WEIR_OK or a negative WEIR_E*. */
int  weir__prio_offer(weir__prio *t, const uint64_t key[2], int has, uint64_t prio,
                      uint64_t ord);
/* Makes the table compare string priorities bytewise (the lowest wins
 * with `lowest`), offered with weir__prio_offer_str; before any offer. */
int  weir__prio_strings(weir__prio *t, int lowest);
/* weir__prio_offer for a string priority s[0..len) (s NULL: a null;
 * len < 2^32). The string is copied when kept. */
int  weir__prio_offer_str(weir__prio *t, const uint64_t key[2], const char *s, size_t len,
                          uint64_t ord);
/* Decides, over rows [0, nrows). With `lookup`, weir__prio_winner then
 * answers for every key offered (a weir__seen of the winners when the
 * table spilled). */
int  weir__prio_finish(weir__prio *t, uint64_t nrows, int lookup);
/* 1 when row `ord` is the one its key keeps. */
int  weir__prio_kept(const weir__prio *t, uint64_t ord);
/* The ordinal of the row `key` keeps, into *ord; WEIR_OK or < 0. */
int  weir__prio_winner(weir__prio *t, const uint64_t key[2], uint64_t *ord);
const char *weir__prio_errmsg(const weir__prio *t);
uint64_t weir__prio_spilled_bytes(const weir__prio *t);
uint64_t weir__prio_runs(const weir__prio *t);

#endif /* WEIR_TEXT_DEDUP_H */
