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
  size_t infer_rows;

  /* The columns, fixed before the first row is parsed. */
  pthread_mutex_t mu;
  int schema_done;
  int schema_rc;
  char schema_err[512];
  weir__schema schema;
  int inferred;
  weir__bufpool *pool; /* chunk buffers, reused across chunks and tasks */
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

/* Replaces `*b` (taken) by the block with a `path` column of `uri`
 * added, built in `acc` (a STRING accumulator kept by the caller). */
int weir__path_column(weir__colacc *acc, const char *uri, weir_block *b,
                      weir_block **out);

/* Sets the pipeline's error and returns NULL, for functions returning an
 * op. */
weir_op *weir__reader_fail(weir_pipeline *p, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "path:line" or "path (byte offset N)" for messages. */
void weir__where(char *buf, size_t len, const char *uri, uint64_t line,
                 uint64_t offset);

#endif /* WEIR_IO_READER_H */
