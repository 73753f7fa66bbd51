/* The source shared by the media readers: one read task per listed file. */
#ifndef WEIR_MEDIA_SOURCE_H
#define WEIR_MEDIA_SOURCE_H

#include "exec/exec_internal.h"
#include "media/media_internal.h"
#include "weir/pipeline.h"

typedef struct weir__media_source weir__media_source;

/* Reads one file and emits its blocks; returns WEIR_OK or an error with
 * `err` naming the file. */
typedef int (*weir__media_task_fn)(weir__media_source *s, const char *path,
                                   weir_emit *out, weir__media_cancel_fn cancel,
                                   void *cancel_user, char *err, size_t errlen);

struct weir__media_source {
  char **paths;
  size_t n;
  int on_error;
  int min_workers;            /* of the source op; 0 = the scheduler's */
  weir__media_task_fn task;
  size_t files_per_task;      /* images: a block's worth of files a task */
  /* Plans the tasks once the files are listed (NULL: one per file, or
   * files_per_task); sets *ntasks. */
  int (*plan)(weir__media_source *s, size_t *ntasks);
  void (*free_extra)(weir__media_source *s);  /* frees what plan made */
  weir_video_options video;
  weir_audio_options audio;
  weir_image_options image;
};

/* Lists `uri` and makes the source; takes `s` (freed on failure too).
 * Each task runs `run`, or with `run` NULL calls `fn` on one file. */
weir_op *weir__media_make_source(weir_pipeline *p, const char *name,
                            const char *uri, const char *const *suffixes,
                            weir__media_task_fn fn, weir_read_fn run,
                            weir__media_source *s);
void weir__media_source_free(weir__media_source *s);
int weir__media_run_task(void *user, size_t task, weir_emit *out);
/* The end of one file's work: WEIR_OK and rc pass through; a failure is
 * logged and counted as a skipped row under WEIR_ON_ERROR_SKIP (returning
 * WEIR_OK), else it becomes the operator's error message. */
int weir__media_file_failed(weir_ctx *ctx, int on_error, const char *path,
                            int rc, const char *err);
/* weir_ctx_cancelled() in the shape FFmpeg's interrupt callback wants. */
int weir__media_cancelled(void *ctx);


#endif /* WEIR_MEDIA_SOURCE_H */
