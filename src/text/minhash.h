/* Internals of weir_dedup_minhash: DataTrove's text simplification, the
 * signature computer (shingles, the permutation family, band keys), and
 * the band-key store that spills sorted runs per band and groups equal
 * keys at the end. */
#ifndef WEIR_TEXT_MINHASH_H
#define WEIR_TEXT_MINHASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "text/text_internal.h"
#include "weir/text.h"

/* ---- Unicode data (minhash_tables.c, generated) ------------------------- */
typedef struct weir__mh_strip {
  uint32_t cp, off, len;  /* cp becomes weir__mh_strip_pool[off..off+len) */
} weir__mh_strip;
extern const uint32_t weir__mh_nd_ranges[][2];
extern const size_t weir__mh_num_nd_ranges;
extern const weir__mh_strip weir__mh_strips[];
extern const size_t weir__mh_num_strips;
extern const uint32_t weir__mh_strip_pool[];

/* Python's str.lower() for one code point (its simple mapping; the two
 * context rules, U+0130 and the final sigma, are the caller's), and
 * whether a code point is cased (dedup_norm.c). */
uint32_t weir__py_lower_simple(uint32_t c);
int weir__py_is_cased(uint32_t c);

/* DataTrove's simplify_text with TextNormConfig() of s[0..len) (valid
 * UTF-8) into *buf (realloc'd; *cap its size); *out_len set. */
int weir__mh_simplify(const char *s, size_t len, char **buf, size_t *cap, size_t *out_len);

/* ---- Signatures ----------------------------------------------------------- */
#define WEIR__MH_PRIME ((UINT64_C(1) << 61) - 1)

typedef struct weir__mh_params {
  int words;              /* 1 word n-grams, 0 character n-grams */
  int ngram, bands, rows;
  int normalize;          /* WEIR_MINHASH_NORM_* */
  uint64_t seed;
  uint64_t *a, *b;        /* bands*rows multipliers and offsets */
} weir__mh_params;

int  weir__mh_params_init(weir__mh_params *pm, const weir_minhash_options *o);
void weir__mh_params_free(weir__mh_params *pm);

/* The state one thread computes signatures with. */
typedef struct weir__mh_worker weir__mh_worker;
int  weir__mh_worker_create(const weir__mh_params *pm, weir__mh_worker **out);
void weir__mh_worker_destroy(weir__mh_worker *w);
/* Signature of text[0..len) (valid UTF-8) into sig[bands*rows]; *nshingles
 * the number of shingles (0 = no signature: too short). When `set` is not
 * NULL, *set / *nset get the sorted distinct shingle hashes (owned by w,
 * valid until the next call). */
int weir__mh_signature(weir__mh_worker *w, const char *text, size_t len, uint64_t *sig,
                       size_t *nshingles, const uint64_t **set, size_t *nset);
/* The band keys of a signature: XXH3-64 of each band's `rows` values as
 * little-endian bytes, seeded with the band index. */
void weir__mh_band_keys(const weir__mh_params *pm, const uint64_t *sig, uint64_t *keys);

/* ---- The band-key store ----------------------------------------------------- */
typedef struct weir__mh_rec {
  uint64_t key, ord;
} weir__mh_rec;

typedef struct weir__mh_store weir__mh_store;
/* `limit` bytes of records in memory for all bands together; past it every
 * band's records are sorted and appended as a run to that band's file: in
 * `work_dir` (band_NNN.keys, kept) or an unlinked file in `spill_dir`. */
int  weir__mh_store_create(int bands, size_t limit, const char *work_dir, const char *spill_dir,
                           weir__mh_store **out);
void weir__mh_store_destroy(weir__mh_store *s);
int  weir__mh_store_add(weir__mh_store *s, const uint64_t *keys, uint64_t ord);
/* Writes what is in memory as final runs (before a manifest is saved). */
int  weir__mh_store_flush(weir__mh_store *s);
/* Writes / reads the list of runs to / from `f` (the manifest). */
int  weir__mh_store_save(const weir__mh_store *s, FILE *f);
int  weir__mh_store_load(int bands, const char *work_dir, FILE *f, weir__mh_store **out);
uint64_t weir__mh_store_spilled_bytes(const weir__mh_store *s);
uint64_t weir__mh_store_runs(const weir__mh_store *s);
uint64_t weir__mh_store_records(const weir__mh_store *s);
const char *weir__mh_store_errmsg(const weir__mh_store *s);
/* Calls fn(user, ords, n) for every group of n >= 2 records of band `band`
 * with equal keys; ords ascending. Merges the band's runs and memory. */
typedef int (*weir__mh_group_fn)(void *user, const uint64_t *ords, size_t n);
int weir__mh_store_groups(weir__mh_store *s, int band, weir__mh_group_fn fn, void *user);

#endif /* WEIR_TEXT_MINHASH_H */
