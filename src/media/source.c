/* What the media readers share: making a source of one read task per file,
 * and turning a file's failure into an error naming it or a counted skip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "weir/io.h"
#include "media/media_source.h"

int weir_media_built(void) { return 1; }

static void media_source_free_void(void *s) { weir__media_source_free(s); }

weir_op *weir__media_make_source(weir_pipeline *p, const char *name,
                            const char *uri, const char *const *suffixes,
                            weir__media_task_fn fn, weir_read_fn run,
                            weir__media_source *s) {
  char err[WEIR__MEDIA_ERRLEN] = "";
  if (!p) {
    weir__media_source_free(s);
    return NULL;
  }
  int rc = weir__media_list(uri, suffixes, &s->paths, &s->n, err, sizeof err);
  if (rc != WEIR_OK) {
    weir__media_source_free(s);
    return weir__op_fail(p, rc, "%s: %s", name, err);
  }
  s->task = fn;
  /* Blocks sized by bytes: the decoders cut at the pipeline's block size
   * unless the options give one. */
  if (!s->video.target_block_bytes)
    s->video.target_block_bytes = weir_pipeline_block_bytes(p);
  if (!s->audio.target_block_bytes)
    s->audio.target_block_bytes = weir_pipeline_block_bytes(p);
  weir_op_options oo = WEIR_OP_OPTIONS_INIT;
  oo.min_workers = s->min_workers;
  /* A decoder holds memory the budget does not count (its reference
   * frames, the packet and frame being decoded): about 96 MiB for a 4K
   * stream, measured. Small budgets decode fewer files at once; an
   * explicit `workers` still wins. */
  size_t fit = weir__pipeline_budget(p) / ((size_t)96 << 20);
  if (fit < 64 && !s->min_workers)
    oo.max_workers = fit < 1 ? 1 : (int)fit;
  size_t ntasks = s->n;
  if (s->files_per_task > 1)
    ntasks = (s->n + s->files_per_task - 1) / s->files_per_task;
  if (s->plan && (rc = s->plan(s, &ntasks)) != WEIR_OK) {
    weir__media_source_free(s);
    return weir__op_fail(p, rc, "%s %s: cannot plan the read tasks", name, uri);
  }
  weir_op *op = weir_source(p, name, ntasks, run ? run : weir__media_run_task,
                            s, &oo);
  if (!op) {
    weir__media_source_free(s);
    return NULL;
  }
  weir__op_set_cleanup(op, media_source_free_void, s);
  return op;
}

void weir__media_source_free(weir__media_source *s) {
  if (!s)
    return;
  if (s->free_extra)
    s->free_extra(s);
  weir__media_list_free(s->paths, s->n);
  free(s);
}

int weir__media_cancelled(void *ctx) { return weir_ctx_cancelled(ctx); }

int weir__media_run_task(void *user, size_t task, weir_emit *out) {
  weir__media_source *s = user;
  weir_ctx *ctx = weir_emit_ctx(out);
  const char *path = s->paths[task];
  char err[WEIR__MEDIA_ERRLEN] = "";
  int rc = s->task(s, path, out, weir__media_cancelled, ctx, err, sizeof err);
  return weir__media_file_failed(ctx, s->on_error, path, rc, err);
}

int weir__media_file_failed(weir_ctx *ctx, int on_error, const char *path,
                            int rc, const char *err) {
  if (rc == WEIR_OK || rc == WEIR_ECANCELED || weir_ctx_cancelled(ctx))
    return rc;
  /* Running out of memory is no fault of the file: never skip it. */
  if (on_error == WEIR_ON_ERROR_SKIP && rc != WEIR_ENOMEM) {
    if (err && err[0])
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipped %s", err);
    else
      weir_ctx_log(ctx, WEIR_LOG_WARN, "skipped %s: %s", path,
                   weir_strerror(rc));
    /* The file is one skipped row as the header says, and an input given
     * up (whole, or from the damage on) as io's readers count theirs, so
     * skipped_inputs accounts for it too. */
    weir_ctx_count_skipped(ctx, 1);
    weir_ctx_count_skipped_input(ctx);
    return WEIR_OK;
  }
  if (err && err[0])
    weir_ctx_set_errmsg(ctx, "%s", err);
  else
    weir_ctx_set_errmsg(ctx, "%s: %s", path, weir_strerror(rc));
  return rc;
}
