/* The manifest of a writer's output: the options that shape its shards,
 * the listing of the read tasks it was made from, and the read tasks whose
 * rows are all in complete shards. A resume with other options or another
 * listing is refused instead of adding rows cut another way to the shards
 * already there, and a resume skips the read tasks it finds complete.
 *
 * Format, one "key value" a line after the magic line: format, files,
 * layout, shard_rows, shard_bytes; then, when the writer knows them, the
 * listing ("source <name> tasks <n>", then "input <i> <description>" for
 * a source that describes its tasks), and "task <i> <first row> <rows>"
 * records. A key it does not hold is not compared (manifests written
 * before it existed). */
#ifndef WEIR_IO_WRITE_MANIFEST_H
#define WEIR_IO_WRITE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "io/vfs.h"

typedef struct weir__write_shape {
  const char *format;    /* "jsonl", "csv", "blocks" */
  const char *suffix;    /* ".jsonl.zst": the format and its compression */
  const char *layout;    /* "folder", "file", "named shards" */
  uint64_t shard_rows, shard_bytes;
  const char *listing;   /* "source"/"input" lines, each ending in "\n";
                            NULL = not known */
} weir__write_shape;

/* The manifest's path: "<folder>/.weir-write-manifest" for a folder or
 * prefix output, "<dir>/.<stem><suffix>.weir-write-manifest" beside a file
 * output (`base` is the folder, or the file name without its suffix);
 * local, s3:// or http(s). malloc'ed; NULL when out of memory. */
char *weir__write_manifest_path(const char *base, int folder, const char *suffix);

/* Reads the manifest at `path` into `*text` (malloc'ed, NUL-terminated),
 * or NULL when there is none. WEIR_EIO/... with `err` when it exists but
 * cannot be read. */
int weir__write_manifest_load(const char *path, const weir__io_config *cfg, char **text,
                              char *err, size_t errlen);

/* Compares manifest `text` (NULL: none) with `want`. WEIR_OK when they
 * agree or there is none; WEIR_EINVAL with `err` naming every option that
 * differs with its recorded and asked-for value, or the first read task
 * whose input differs. `output` and `path` name the output in messages. */
int weir__write_manifest_check(const char *text, const char *path,
                               const weir__write_shape *want, const char *output, char *err,
                               size_t errlen);

/* The "task" records of `text` for tasks [0, ntasks): first[i] and
 * rows[i], UINT64_MAX where task i has none. */
void weir__write_manifest_tasks(const char *text, size_t ntasks, uint64_t *first,
                                uint64_t *rows);

/* Writes `shape` and the `tasks` lines (may be NULL) to `path` as one
 * object: locally under a temporary name, then renamed; remote in one
 * upload. WEIR_EIO/... with `err` on failure. */
int weir__write_manifest_save(const char *path, const weir__io_config *cfg,
                              const weir__write_shape *shape, const char *tasks, char *err,
                              size_t errlen);

#endif
