/* Removing what an earlier run left under a writer's output names: the
 * shards of another compression, of the other layout (one file or
 * numbered shards), or beyond this run's count, so that a local output
 * holds exactly this run's rows. Only names of weir's own patterns are
 * touched; anything else in the folder stays. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/stale_shards.h"
#include "io/vfs.h"

/* The compression suffix that may follow the format's suffix. */
static const char *const codec_suffixes[] = {"", ".zst", ".gz", ".zstd"};

/* Where `rest` (after the stem) is "<ext><codec>": the length of the
 * digits before it when `numbered` ("-00012"), else 0 for a bare stem;
 * returns the shard index, -1 for the bare (one file) form, -2 for no
 * match. `*suffix` points at the ext in `rest`. */
static long long parse_rest(const char *rest, const char *ext, int numbered,
                            const char **suffix) {
  long long k = -1;
  if (numbered) {
    if (*rest != '-') return -2;
    rest++;
    size_t nd = strspn(rest, "0123456789");
    if (nd < 5 || nd > 18) return -2;
    k = strtoll(rest, NULL, 10);
    rest += nd;
  }
  size_t el = strlen(ext);
  if (strncmp(rest, ext, el) != 0) return -2;
  for (size_t i = 0; i < sizeof codec_suffixes / sizeof *codec_suffixes; i++)
    if (strcmp(rest + el, codec_suffixes[i]) == 0) {
      *suffix = rest;
      return k;
    }
  return -2;
}

void weir__stale_shards_remove(const char *dir, const char *stem, int folder,
                               const char *ext, const char *suffix, int single,
                               size_t written) {
  if (!dir || !*dir) dir = ".";
  if (strncmp(dir, "file://", 7) == 0) dir += 7;
  DIR *d = opendir(dir);
  if (!d) return;
  size_t sl = strlen(stem);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (strncmp(n, stem, sl) != 0) continue;
    const char *suf = NULL;
    /* A folder's shards are always numbered; a file output is either the
     * bare name or numbered shards of it. */
    long long k = parse_rest(n + sl, ext, 1, &suf);
    if (k == -2 && !folder) k = parse_rest(n + sl, ext, 0, &suf);
    if (k == -2) continue;
    int same_suffix = strcmp(suf, suffix) == 0;
    /* A file output's other compression is another file the caller
     * named (f.jsonl beside f.jsonl.zst), not a leftover of this one. */
    if (!folder && !same_suffix) continue;
    int ours = same_suffix && (single ? k == -1 : k >= 0 && (size_t)k < written);
    if (ours) continue;
    char *path = weir__vfs_join(dir, n);
    if (path) unlink(path);
    free(path);
  }
  closedir(d);
}
