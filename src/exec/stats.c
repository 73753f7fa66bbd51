/* Statistics of a run: per-operator snapshots, the JSON form, the end
 * table, and the stall detector. */
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec_internal.h"
#include "weir/dist.h"
#include "weir/error.h"

void weir__op_snapshot(const weir_op *op, weir_op_stats *out) {
  *out = op->st;
  if (op->rows_of) {
    /* A reader's chunks are not rows: the rows are what its parser made
     * of them (the malformed ones it skipped count there, once). */
    out->rows_out = op->rows_of->st.rows_out;
  }
  out->name = op->name;
  out->workers = op->live;
  out->queue_bytes = op->q.bytes;
  out->queue_blocks = op->q.blocks;
  out->queue_max_bytes = op->q.max_bytes;
  out->queue_max_blocks = op->q.max_blocks;
  out->workers_min = op->workers_min;
  out->workers_max = op->workers_max;
  out->cpu_seconds = weir__op_cpu(op);
  double end = op->last_end;
  if (op->busy > 0 || end < op->first_start)
    end = weir__now();
  out->wall_seconds = op->first_start > 0 ? end - op->first_start : 0;
  out->num_counters = op->ncounters;
}

static int counter_op(const weir_pipeline *p, int index, const char *fn, weir_op **op) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "%s: NULL pipeline", fn);
  if (index < 0 || (size_t)index >= p->nops)
    return weir__call_fail(p, WEIR_EINVAL, "%s: index %d out of range (the pipeline has %zu "
                           "operators)", fn, index, p->nops);
  *op = p->ops[index];
  return WEIR_OK;
}

int weir_pipeline_op_counter(const weir_pipeline *p, int index, const char *name,
                             uint64_t *value) {
  weir_op *op = NULL;
  int rc = counter_op(p, index, "weir_pipeline_op_counter", &op);
  if (rc)
    return rc;
  if (!name || !value)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_op_counter: NULL %s",
                           !name ? "name" : "value");
  weir_pipeline *mp = (weir_pipeline *)p;
  rc = WEIR_ENOTFOUND;
  pthread_mutex_lock(&mp->mu);
  for (size_t i = 0; i < op->ncounters; i++)
    if (strcmp(op->counters[i].name, name) == 0) {
      *value = op->counters[i].value;
      rc = WEIR_OK;
      break;
    }
  pthread_mutex_unlock(&mp->mu);
  return rc;
}

int weir_pipeline_op_counter_at(const weir_pipeline *p, int index, size_t i, const char **name,
                                uint64_t *value) {
  weir_op *op = NULL;
  int rc = counter_op(p, index, "weir_pipeline_op_counter_at", &op);
  if (rc)
    return rc;
  weir_pipeline *mp = (weir_pipeline *)p;
  rc = WEIR_ENOTFOUND;
  pthread_mutex_lock(&mp->mu);
  if (i < op->ncounters) {
    if (name)
      *name = op->counters[i].name;
    if (value)
      *value = op->counters[i].value;
    rc = WEIR_OK;
  }
  pthread_mutex_unlock(&mp->mu);
  return rc;
}

int weir_pipeline_num_ops(const weir_pipeline *p) { return p ? (int)p->nops : WEIR_EINVAL; }

/* The first layouts of the stats structs, which the plain symbols fill
 * (see weir/stats.h): fields appended later lie past them. */
#define OP_STATS_SIZE_FIRST (offsetof(weir_op_stats, queue_max_blocks) + sizeof(size_t))
#define PIPELINE_STATS_SIZE_FIRST (offsetof(weir_pipeline_stats, resizes) + sizeof(uint64_t))

/* Copies the library's `size` bytes of `v` into the caller's `out_size`
 * bytes, zeroing what a newer caller has and this library lacks. */
static void copy_sized(void *out, size_t out_size, const void *v, size_t size) {
  if (out_size > size) memset((char *)out + size, 0, out_size - size);
  memcpy(out, v, out_size < size ? out_size : size);
}

int weir_pipeline_op_stats_sized(const weir_pipeline *p, int index, weir_op_stats *out,
                                 size_t out_size) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_op_stats: NULL pipeline");
  if (!out)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_op_stats: NULL out");
  if (out_size < OP_STATS_SIZE_FIRST)
    return weir__call_fail(p, WEIR_EINVAL,
                           "weir_pipeline_op_stats: a weir_op_stats of %zu bytes is smaller "
                           "than any layout weir has had (%zu)", out_size,
                           (size_t)OP_STATS_SIZE_FIRST);
  if (index < 0 || (size_t)index >= p->nops)
    return weir__call_fail(p, WEIR_EINVAL,
                           "weir_pipeline_op_stats: index %d out of range (the pipeline has "
                           "%zu operators)", index, p->nops);
  weir_pipeline *mp = (weir_pipeline *)p; /* the lock is not part of the value */
  weir_op_stats v;
  pthread_mutex_lock(&mp->mu);
  weir__op_snapshot(p->ops[index], &v);
  pthread_mutex_unlock(&mp->mu);
  copy_sized(out, out_size, &v, sizeof v);
  return WEIR_OK;
}

int(weir_pipeline_op_stats)(const weir_pipeline *p, int index, weir_op_stats *out) {
  return weir_pipeline_op_stats_sized(p, index, out, OP_STATS_SIZE_FIRST);
}

static void pipeline_snapshot(const weir_pipeline *p, weir_pipeline_stats *out) {
  memset(out, 0, sizeof *out);
  double end = p->t_end > 0 ? p->t_end : weir__now();
  out->wall_seconds = p->t_start > 0 ? end - p->t_start : 0;
  out->bytes_in_flight = p->in_flight;
  out->bytes_in_flight_peak = p->in_flight_peak;
  out->memory_budget = p->budget;
  out->iter_blocked_seconds = p->iter_blocked;
  out->iter_batches = p->iter_batches;
  out->stalls = p->stalls;
  out->resizes = p->resizes;
}

int weir_pipeline_get_stats_sized(const weir_pipeline *p, weir_pipeline_stats *out,
                                  size_t out_size) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_get_stats: NULL pipeline");
  if (!out)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_get_stats: NULL out");
  if (out_size < PIPELINE_STATS_SIZE_FIRST)
    return weir__call_fail(p, WEIR_EINVAL,
                           "weir_pipeline_get_stats: a weir_pipeline_stats of %zu bytes is "
                           "smaller than any layout weir has had (%zu)", out_size,
                           (size_t)PIPELINE_STATS_SIZE_FIRST);
  weir_pipeline *mp = (weir_pipeline *)p;
  weir_pipeline_stats v;
  pthread_mutex_lock(&mp->mu);
  pipeline_snapshot(p, &v);
  pthread_mutex_unlock(&mp->mu);
  copy_sized(out, out_size, &v, sizeof v);
  return WEIR_OK;
}

int(weir_pipeline_get_stats)(const weir_pipeline *p, weir_pipeline_stats *out) {
  return weir_pipeline_get_stats_sized(p, out, PIPELINE_STATS_SIZE_FIRST);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

int weir_pipeline_stats_json(const weir_pipeline *p, char **json) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_stats_json: NULL pipeline");
  if (!json)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_stats_json: NULL json (where the "
                           "text goes)");
  *json = NULL;
  size_t len = 0;
  FILE *f = open_memstream(json, &len);
  if (!f)
    return WEIR_ENOMEM;
  weir_pipeline *mp = (weir_pipeline *)p;
  pthread_mutex_lock(&mp->mu);
  weir_pipeline_stats ps;
  pipeline_snapshot(p, &ps);
  fprintf(f,
          "{\"pipeline\": {\"wall_seconds\": %.6f, \"bytes_in_flight\": %zu, "
          "\"bytes_in_flight_peak\": %zu, \"memory_budget\": %zu, "
          "\"iter_blocked_seconds\": %.6f, \"iter_batches\": %llu, \"stalls\": %d, "
          "\"num_cpus\": %d, \"resizes\": %llu, \"status\": ",
          ps.wall_seconds, ps.bytes_in_flight, ps.bytes_in_flight_peak, ps.memory_budget,
          ps.iter_blocked_seconds, (unsigned long long)ps.iter_batches, ps.stalls, p->num_cpus,
          (unsigned long long)ps.resizes);
  json_str(f, weir_err_name(p->status));
  /* Why a run failed, next to its status (the text of weir_pipeline_errmsg
   * for the run's error; "" after a success). */
  fprintf(f, ", \"message\": ");
  json_str(f, p->status != WEIR_OK ? weir_pipeline_errmsg(p) : "");
  fprintf(f, "}, \"operators\": [");
  for (size_t i = 0; i < p->nops; i++) {
    weir_op_stats s;
    weir__op_snapshot(p->ops[i], &s);
    fprintf(f, "%s{\"name\": ", i ? ", " : "");
    json_str(f, s.name);
    fprintf(f,
            ", \"index\": %zu, \"rows_in\": %llu, \"rows_out\": %llu, \"blocks_in\": %llu, "
            "\"blocks_out\": %llu, \"bytes_in\": %llu, \"bytes_out\": %llu, \"tasks\": %llu, "
            "\"errors\": %llu, \"retries\": %llu, \"skipped_blocks\": %llu, "
            "\"skipped_rows\": %llu, \"busy_seconds\": %.6f, \"cpu_seconds\": %.6f, "
            "\"blocked_seconds\": %.6f, \"wall_seconds\": %.6f, \"workers\": %d, "
            "\"workers_peak\": %d, \"workers_min\": %d, \"workers_max\": %d, \"resizes\": %llu, "
            "\"queue_bytes\": %zu, \"queue_blocks\": %zu, \"queue_bytes_peak\": %zu, "
            "\"queue_blocks_peak\": %zu, \"spilled_bytes\": %llu, \"spilled_blocks\": %llu, "
            "\"skipped_inputs\": %llu, \"dropped_rows\": %llu, \"queue_max_bytes\": %zu, "
            "\"queue_max_blocks\": %zu, \"block_bytes_min\": %llu, "
            "\"block_bytes_max\": %llu, \"block_bytes_hist\": [",
            i, (unsigned long long)s.rows_in, (unsigned long long)s.rows_out,
            (unsigned long long)s.blocks_in, (unsigned long long)s.blocks_out,
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
            (unsigned long long)s.tasks, (unsigned long long)s.errors,
            (unsigned long long)s.retries, (unsigned long long)s.skipped_blocks,
            (unsigned long long)s.skipped_rows, s.busy_seconds, s.cpu_seconds,
            s.blocked_seconds, s.wall_seconds, s.workers, s.workers_peak, s.workers_min,
            s.workers_max, (unsigned long long)s.resizes, s.queue_bytes, s.queue_blocks,
            s.queue_bytes_peak, s.queue_blocks_peak, (unsigned long long)s.spilled_bytes,
            (unsigned long long)s.spilled_blocks, (unsigned long long)s.skipped_inputs,
            (unsigned long long)s.dropped_rows, s.queue_max_bytes, s.queue_max_blocks,
            (unsigned long long)s.block_bytes_min, (unsigned long long)s.block_bytes_max);
    for (int k = 0; k < WEIR_BLOCK_BYTES_BINS; k++)
      fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)s.block_bytes_hist[k]);
    fputs("], \"counters\": {", f);
    const weir_op *op = p->ops[i];
    for (size_t k = 0; k < op->ncounters; k++) {
      fputs(k ? ", " : "", f);
      json_str(f, op->counters[k].name);
      fprintf(f, ": %llu", (unsigned long long)op->counters[k].value);
    }
    fputs("}}", f);
  }
  fprintf(f, "]}");
  pthread_mutex_unlock(&mp->mu);
  if (fclose(f) != 0) {
    free(*json);
    *json = NULL;
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

static void human_bytes(char *buf, size_t n, double v) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    i++;
  }
  snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* The table's columns, in the order they are shown, and how readily each
 * is dropped to fit a narrow terminal (higher goes first; 0 never). */
enum { C_NAME, C_RIN, C_ROUT, C_BLOCKS, C_TASKS, C_BUSY, C_CPU, C_BLOCKED, C_WORKERS,
       C_RESIZES, C_QPEAK, C_RETRIES, C_ERRORS, C_SKIPPED, NCOLS };
static const char *const col_head[NCOLS] = {
  "operator", "rows in", "rows out", "blocks", "tasks", "busy s", "cpu s", "blocked s",
  "workers", "resizes", "queue peak", "retries", "errors", "skipped"};
/* Skipped rows are never dropped: data left out must stay visible. */
static const int col_drop[NCOLS] = {0, 0, 0, 9, 5, 3, 8, 6, 2, 7, 4, 1, 0, 0};
#define NAME_MAX_COLS 24

/* Writes the table to `f`, its lines at most `cols` characters wide where
 * dropping columns (least useful first) can make them so; cols <= 0 =
 * every column. Under p->mu. */
static void write_table(const weir_pipeline *p, FILE *f, int cols) {
  size_t nrows = p->nops;
  char (*cell)[NCOLS][32] = calloc(nrows ? nrows : 1, sizeof *cell);
  if (!cell)
    return;
  int width[NCOLS];
  for (int c = 0; c < NCOLS; c++)
    width[c] = (int)strlen(col_head[c]);
  uint64_t retries = 0;
  for (size_t i = 0; i < nrows; i++) {
    weir_op_stats s;
    weir__op_snapshot(p->ops[i], &s);
    retries += s.retries;
    snprintf(cell[i][C_NAME], 32, "%.*s", NAME_MAX_COLS, s.name);
    snprintf(cell[i][C_RIN], 32, "%llu", (unsigned long long)s.rows_in);
    snprintf(cell[i][C_ROUT], 32, "%llu", (unsigned long long)s.rows_out);
    snprintf(cell[i][C_BLOCKS], 32, "%llu", (unsigned long long)s.blocks_out);
    snprintf(cell[i][C_TASKS], 32, "%llu", (unsigned long long)s.tasks);
    snprintf(cell[i][C_BUSY], 32, "%.3f", s.busy_seconds);
    snprintf(cell[i][C_CPU], 32, "%.3f", s.cpu_seconds);
    snprintf(cell[i][C_BLOCKED], 32, "%.3f", s.blocked_seconds);
    snprintf(cell[i][C_WORKERS], 32, "%d", s.workers_peak);
    snprintf(cell[i][C_RESIZES], 32, "%llu", (unsigned long long)s.resizes);
    human_bytes(cell[i][C_QPEAK], 32, (double)s.queue_bytes_peak);
    snprintf(cell[i][C_RETRIES], 32, "%llu", (unsigned long long)s.retries);
    snprintf(cell[i][C_ERRORS], 32, "%llu", (unsigned long long)s.errors);
    snprintf(cell[i][C_SKIPPED], 32, "%llu", (unsigned long long)s.skipped_rows);
    for (int c = 0; c < NCOLS; c++) {
      int w = (int)strlen(cell[i][c]);
      if (w > width[c])
        width[c] = w;
    }
  }
  int shown[NCOLS], total = -1;
  for (int c = 0; c < NCOLS; c++) {
    shown[c] = 1;
    total += width[c] + 1;
  }
  /* Drop the most droppable column until the table fits. */
  while (cols > 0 && total > cols) {
    int worst = -1;
    for (int c = 0; c < NCOLS; c++)
      if (shown[c] && col_drop[c] > 0 && (worst < 0 || col_drop[c] > col_drop[worst]))
        worst = c;
    if (worst < 0)
      break;
    shown[worst] = 0;
    total -= width[worst] + 1;
  }
  for (size_t r = 0; r <= nrows; r++) {
    const char *sep = "";
    for (int c = 0; c < NCOLS; c++) {
      if (!shown[c])
        continue;
      const char *v = r == 0 ? col_head[c] : cell[r - 1][c];
      /* Names read left-aligned, numbers right-aligned; the last column
       * carries no trailing spaces. */
      fprintf(f, c == C_NAME ? "%s%-*s" : "%s%*s", sep, width[c], v);
      sep = " ";
    }
    fputc('\n', f);
  }
  free(cell);
  if (retries)
    fprintf(f, "retries: %llu in all (calls re-run and network requests repeated)\n",
            (unsigned long long)retries);
}

/* The status the table ends with. A failure names its code and the
 * operator; the message itself is returned to the caller
 * (weir_pipeline_errmsg) and not repeated here. */
static void status_text(const weir_pipeline *p, char *buf, size_t n) {
  if (p->status == WEIR_OK) {
    /* A success that skipped data says so: "success" alone would hide it. */
    uint64_t rows = 0, inputs = 0, blocks = 0;
    for (size_t i = 0; i < p->nops; i++) {
      weir_op_stats s;
      weir__op_snapshot(p->ops[i], &s);
      rows += s.skipped_rows;
      inputs += s.skipped_inputs;
      blocks += s.skipped_blocks;
    }
    if (inputs)
      snprintf(buf, n, "success, %llu rows skipped and %llu input%s given up",
               (unsigned long long)rows, (unsigned long long)inputs, inputs == 1 ? "" : "s");
    else if (rows || blocks)
      snprintf(buf, n, "success, %llu rows skipped", (unsigned long long)rows);
    else
      snprintf(buf, n, "success");
    return;
  }
  const char *e = weir_pipeline_errmsg(p), *q = NULL;
  if (strncmp(e, "operator '", 10) == 0)
    q = strchr(e + 10, '\'');
  if (q)
    snprintf(buf, n, "failed: %s in %.*s", weir_strerror(p->status), (int)(q + 1 - e), e);
  else
    snprintf(buf, n, "failed: %s", weir_strerror(p->status));
}

/* Cuts every line of `text` to `cols` characters, in place: a line that a
 * narrow terminal would wrap is worse than one that ends early. */
static void cut_lines(char *text, int cols) {
  char *w = text;
  for (const char *r = text; *r;) {
    const char *nl = strchr(r, '\n');
    size_t n = nl ? (size_t)(nl - r) : strlen(r), keep = 0;
    int chars = 0;
    for (size_t i = 0; i < n; i++) {
      if (((unsigned char)r[i] & 0xC0) != 0x80 && ++chars > cols)
        break;
      keep = i + 1;
    }
    memmove(w, r, keep);
    w += keep;
    if (nl)
      *w++ = '\n';
    r += n + (nl ? 1 : 0);
  }
  *w = '\0';
}

int weir__stats_table_fit(const weir_pipeline *p, int cols, char **text) {
  *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(text, &len);
  if (!f)
    return WEIR_ENOMEM;
  weir_pipeline *mp = (weir_pipeline *)p;
  pthread_mutex_lock(&mp->mu);
  weir_pipeline_stats ps;
  pipeline_snapshot(p, &ps);
  write_table(p, f, cols);
  for (size_t i = 0; i < p->nops; i++) {
    /* Skipped data must not go unseen: a line for each operator that
     * skipped failed blocks or inputs (rows are in the table). */
    weir_op_stats s;
    weir__op_snapshot(p->ops[i], &s);
    if (s.skipped_blocks || s.skipped_inputs)
      fprintf(f, "%s: skipped %llu failed blocks and %llu unreadable or damaged inputs\n",
              s.name, (unsigned long long)s.skipped_blocks, (unsigned long long)s.skipped_inputs);
  }
  for (size_t i = 0; i < p->nops; i++) {
    /* Only operators that spilled get a line: most runs never do. */
    weir_op_stats s;
    weir__op_snapshot(p->ops[i], &s);
    if (s.spilled_blocks) {
      char sb[32];
      human_bytes(sb, sizeof sb, (double)s.spilled_bytes);
      fprintf(f, "%s: spilled %llu blocks (%s) to disk\n", s.name,
              (unsigned long long)s.spilled_blocks, sb);
    }
  }
  for (size_t i = 0; i < p->nops; i++) {
    /* Operators that count things (a filter's drops by reason, entities a
     * redactor found) say so on a line of their own. */
    const weir_op *op = p->ops[i];
    if (!op->ncounters)
      continue;
    fprintf(f, "%s:", op->name);
    for (size_t k = 0; k < op->ncounters; k++)
      fprintf(f, "%s %s %llu", k ? "," : "", op->counters[k].name,
              (unsigned long long)op->counters[k].value);
    fputc('\n', f);
  }
  char peak[32], budget[32], st[256];
  human_bytes(peak, sizeof peak, (double)ps.bytes_in_flight_peak);
  human_bytes(budget, sizeof budget, (double)ps.memory_budget);
  status_text(p, st, sizeof st);
  fprintf(f, "wall %.3f s, in flight peak %s of %s\n%s\n", ps.wall_seconds, peak, budget, st);
  if (ps.iter_batches)
    fprintf(f, "iterator: %llu batches, consumer blocked %.3f s\n",
            (unsigned long long)ps.iter_batches, ps.iter_blocked_seconds);
  pthread_mutex_unlock(&mp->mu);
  if (fclose(f) != 0) {
    free(*text);
    *text = NULL;
    return WEIR_ENOMEM;
  }
  if (cols > 0)
    cut_lines(*text, cols);
  return WEIR_OK;
}

int weir_pipeline_stats_table(const weir_pipeline *p, char **text) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_stats_table: NULL pipeline");
  if (!text)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_stats_table: NULL text (where the "
                           "table goes)");
  return weir__stats_table_fit(p, 0, text);
}

/* ---- Stalls ------------------------------------------------------------- */

/* Says which operator holds the pipeline, and why. */
static void stall_reason(weir_pipeline *p, char *buf, size_t n) {
  weir_op *holder = NULL;
  const char *why = "";
  /* A worker inside the operator's own call, not waiting to emit, holds
   * everything behind it; the one nearest the output is reported. */
  for (size_t i = 0; i < p->nops; i++) {
    weir_op *op = p->ops[i];
    if (op->active && !op->finished && op->busy > op->emit_waiting &&
        (!holder || op->depth < holder->depth)) {
      holder = op;
      why = "waiting on a worker: a call into the operator has not returned";
    }
  }
  if (!holder)
    for (size_t i = 0; i < p->nops; i++) {
      weir_op *op = p->ops[i];
      if (op->active && !op->finished && op->emit_waiting > 0 &&
          (!holder || op->depth < holder->depth)) {
        holder = op;
        why = "its output queue is full and nothing drains it";
      }
    }
  if (!holder)
    for (size_t i = 0; i < p->nops; i++) {
      weir_op *op = p->ops[i];
      if (op->active && !op->finished && (!holder || op->depth > holder->depth)) {
        holder = op;
        why = op->kind == WEIR__OP_SOURCE ? "no read task can start" : "no input arrives";
      }
    }
  if (holder)
    snprintf(buf, n, "operator '%s' holds the pipeline: %s (queue %zu blocks, %d/%d workers busy)",
             holder->name, why, holder->q.blocks, holder->busy, holder->live);
  else
    snprintf(buf, n, "no operator is running");
}

void weir__stall_tick(weir_pipeline *p) {
  if (p->opts.stall_seconds < 0)
    return;
  double now = weir__now();
  pthread_mutex_lock(&p->mu);
  if (p->done || atomic_load(&p->ending)) {
    pthread_mutex_unlock(&p->mu);
    return;
  }
  /* A consumer that does not pull paces the run; that is not a stall. */
  int consumer_paced = p->itersink && p->itersink->q.blocks >= p->itersink->q.max_blocks;
  if (p->progress_count != p->stall_seen || consumer_paced) {
    p->stall_seen = p->progress_count;
    p->stall_since = now;
    p->stall_reported = 0;
  } else if (!p->stall_reported && now - p->stall_since >= p->opts.stall_seconds) {
    char why[512], where[48] = "";
    stall_reason(p, why, sizeof why);
    /* On MPI ranks every rank watches its own run: the report says which
     * rank stalled, since mpirun interleaves all ranks' output. */
    if (p->dist && weir_dist_size() > 1)
      snprintf(where, sizeof where, "rank %d of %d ", weir_dist_rank(), weir_dist_size());
    p->stall_reported = 1;
    p->stalls++;
    if (p->opts.stall_is_error) {
      weir__run_fail(p, WEIR_ESTALL, "%sstalled: no progress for %.1f s; %s", where,
                     now - p->stall_since, why);
    } else {
      weir__log(p, WEIR_LOG_WARN, "%sstalled: no progress for %.1f s; %s", where,
                now - p->stall_since, why);
    }
  }
  pthread_mutex_unlock(&p->mu);
}
