/* The manifest of a writer's local output: the options that shape its
 * shards, so that a resume with other ones is refused instead of adding
 * rows cut another way to the shards already there. */
#ifndef WEIR_IO_WRITE_MANIFEST_H
#define WEIR_IO_WRITE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct weir__write_shape {
  const char *format;    /* "jsonl", "csv", "blocks" */
  const char *suffix;    /* ".jsonl.zst": the format and its compression */
  const char *layout;    /* "folder", "file", "named shards" */
  uint64_t shard_rows, shard_bytes;
} weir__write_shape;

/* The manifest's path: "<folder>/.weir-write-manifest" for a folder
 * output, "<dir>/.<stem><suffix>.weir-write-manifest" beside a file
 * output (`base` is the folder, or the file name without its suffix).
 * malloc'ed; NULL when out of memory. */
char *weir__write_manifest_path(const char *base, int folder, const char *suffix);

/* Compares the manifest at `path`, if there is one, with `want`. WEIR_OK
 * when they agree or there is none; WEIR_EINVAL with `err` naming every
 * option that differs, its recorded and its asked-for value. */
int weir__write_manifest_check(const char *path, const weir__write_shape *want,
                               const char *output, char *err, size_t errlen);

/* Writes `shape` to `path` atomically (a temporary name, then a rename),
 * creating its folder. WEIR_EIO with `err` on failure. */
int weir__write_manifest_save(const char *path, const weir__write_shape *shape,
                              char *err, size_t errlen);

#endif
