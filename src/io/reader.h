/* What every file reader shares: the option copy, the listing of its
 * inputs into read tasks (files or byte ranges), the columns fixed once
 * for all tasks, and messages that name the file and line. */
#ifndef WEIR_IO_READER_H
#define WEIR_IO_READER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/io.h"
#include "io/bufpool.h"
#include "io/chunker.h"
#include "io/colacc.h"
#include "io/schema.h"
#include "io/vfs.h"

typedef struct weir__read_task {
  size_t obj;          /* index into objs */
  uint64_t offset, length; /* byte range; length UINT64_MAX = to the end */
} weir__read_task;

typedef struct weir__reader {
  const char *kind;    /* "jsonl", "csv"... for names and messages */
  weir_read_options o; /* copied; strings point into owned copies */
  weir__io_config cfg;
  weir__object *objs;
  size_t nobjs;
  weir__read_task *tasks;
  size_t ntasks;
  size_t rows_per_block;
  size_t chunk_bytes;  /* chunks stay under this unless one record is longer */
  int max_tasks;       /* read tasks at once (source workers); 0 = any */
  size_t infer_rows;

  /* The columns, fixed before the first row is parsed. */
  pthread_mutex_t mu;
  int schema_done;
  int schema_rc;
  /* The format's schema step (jsonl_schema, csv_schema), when it reads
   * the input: the read tasks run it before their first chunk (see
   * read_chunks in reader.c). NULL: the columns need no reading. */
  int (*schema_fix)(struct weir__reader *r);
  char schema_err[512];
  weir__schema schema;
  int inferred;
  weir__bufpool *pool; /* chunk buffers, reused across chunks and tasks */
  uint64_t *malformed; /* per object: malformed rows this run, under mu */
  void *extra;         /* format-specific state, freed by free_extra */
  void (*free_extra)(void *);
} weir__reader;

/* Copies the options, lists `uri`, and cuts the objects into tasks (byte
 * ranges of `range_bytes` for uncompressed inputs when `ranges` is 1).
 * On failure sets weir_last_errmsg-style detail in `err`. */
int  weir__reader_create(weir__reader **out, const char *kind, const char *uri,
                         const weir_read_options *o, int ranges, char *err,
                         size_t errlen);
void weir__reader_free(void *r);

/* Makes a source op for `r` (which the pipeline then owns) reading with
 * `fn`; on failure frees `r` and returns NULL with the pipeline's error. */
weir_op *weir__reader_source(weir_pipeline *p, weir__reader *r,
                             const char *name, weir_read_fn fn);

/* What every weir_read_<kind> does first: makes the reader of `uri` (see
 * weir__reader_create) and its source op `name` ("read_<kind>") reading
 * with `fn`. The pipeline owns the reader; `*r_out` (may be NULL) borrows
 * it for a parsing op that shares it. On failure returns NULL with the
 * pipeline's error, prefixed by `name`. */
weir_op *weir__reader_op(weir_pipeline *p, const char *kind, const char *name,
                         const char *uri, const weir_read_options *o,
                         int ranges, weir_read_fn fn, weir__reader **r_out);

/* Workers of `r`'s ops that fit the budget of `p` when each one holds
 * about `chunks` chunks of memory the budget does not count (the chunk
 * being read, the next one, the rows being built): 0 (any) when many fit.
 * Small budgets then read and parse fewer chunks at once. */
int weir__reader_workers(const weir_pipeline *p, const weir__reader *r, size_t chunks);

/* Runs `fix` (which fills r->schema, or fails with r->schema_err) once
 * for all tasks and workers, under the reader's lock, so that every block
 * has the same columns; later calls return its result. */
int weir__reader_schema_once(weir__reader *r, int (*fix)(weir__reader *r));

/* Chunks stay under this size unless one record is longer. */
#define WEIR__CHUNK_MAX_BYTES (8u << 20)

/* Opens the chunker of read task `task` (`csv` as in weir__chunker_open).
 * An unreadable input under on_error = skip is logged and answers WEIR_OK
 * with `*out` NULL: the task has nothing to emit. Other failures set the
 * context's message. */
int weir__reader_open_task(weir__reader *r, size_t task, int csv,
                           weir_ctx *ctx, weir__chunker **out);

/* The next chunk of `ch` unless the run is cancelled: 1 with a chunk, 0 at
 * the end, < 0 an error (WEIR_ECANCELED, or the chunker's, with the
 * context's message set). */
int weir__reader_next_chunk(weir__chunker *ch, weir_ctx *ctx, weir__chunk *c);
/* 1 when error `rc` of a read task ends only that input (it is corrupt,
 * truncated or unreadable) because the reader skips bad input. */
int weir__reader_skips_rest(const weir__reader *r, int rc);

/* Source read functions that emit each chunk of a task as a chunk block
 * (weir__chunk_block) for a parsing op: chunks of whole lines, or of whole
 * CSV records. */
int weir__read_chunks_lines(void *user, size_t task, weir_emit *out);
int weir__read_chunks_csv(void *user, size_t task, weir_emit *out);

/* Replaces `*b` (taken) by the block with a `path` column of `uri`
 * added, built in `acc` (a STRING accumulator kept by the caller). */
int weir__path_column(weir__colacc *acc, const char *uri, weir_block *b,
                      weir_block **out);

/* A malformed row of object `obj` at `line` (0 = unknown: the byte
 * `offset` is given instead). With WEIR_ON_ERROR_SKIP it counts the row in
 * `*skipped`, logs it while its file has had fewer than
 * WEIR__MALFORMED_LOGGED logged, and returns WEIR_OK: the rest of a file
 * are counted, and one "N more" line per file follows when the run ends
 * (weir__reader_watch). Otherwise it sets the context's message and returns
 * WEIR_EFORMAT. */
#define WEIR__MALFORMED_LOGGED 10
int weir__reader_malformed(weir__reader *r, weir_ctx *ctx, size_t obj,
                           uint64_t line, uint64_t offset, const char *why,
                           uint64_t *skipped);
/* Makes `op` (the op that reports malformed rows of `r`) log, when its run
 * ends, one line per file with more malformed rows than were logged. */
void weir__reader_watch(weir__reader *r, weir_op *op);

/* "path:line" or "path (byte offset N)" for messages. */
void weir__where(char *buf, size_t len, const char *uri, uint64_t line,
                 uint64_t offset);

#endif /* WEIR_IO_READER_H */
