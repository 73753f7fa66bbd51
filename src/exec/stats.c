/* Statistics of a run: per-operator snapshots, the JSON form, the end
 * table, progress on stderr, and the stall detector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec_internal.h"
#include "weir/error.h"

void weir__op_snapshot(const weir_op *op, weir_op_stats *out) {
  *out = op->st;
  out->name = op->name;
  out->workers = op->live;
  out->queue_bytes = op->qbytes;
  out->queue_blocks = op->qblocks;
  out->workers_min = op->workers_min;
  out->workers_max = op->workers_max;
  out->cpu_seconds = weir__op_cpu(op);
  double end = op->last_end;
  if (op->busy > 0 || end < op->first_start)
    end = weir__now();
  out->wall_seconds = op->first_start > 0 ? end - op->first_start : 0;
}

int weir_pipeline_num_ops(const weir_pipeline *p) { return p ? (int)p->nops : WEIR_EINVAL; }

int weir_pipeline_op_stats(const weir_pipeline *p, int index, weir_op_stats *out) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_op_stats: NULL pipeline");
  if (!out)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_op_stats: NULL out");
  if (index < 0 || (size_t)index >= p->nops)
    return weir__call_fail(p, WEIR_EINVAL,
                           "weir_pipeline_op_stats: index %d out of range (the pipeline has "
                           "%zu operators)", index, p->nops);
  weir_pipeline *mp = (weir_pipeline *)p; /* the lock is not part of the value */
  pthread_mutex_lock(&mp->mu);
  weir__op_snapshot(p->ops[index], out);
  pthread_mutex_unlock(&mp->mu);
  return WEIR_OK;
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

int weir_pipeline_get_stats(const weir_pipeline *p, weir_pipeline_stats *out) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_get_stats: NULL pipeline");
  if (!out)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_get_stats: NULL out");
  weir_pipeline *mp = (weir_pipeline *)p;
  pthread_mutex_lock(&mp->mu);
  pipeline_snapshot(p, out);
  pthread_mutex_unlock(&mp->mu);
  return WEIR_OK;
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
            "\"skipped_inputs\": %llu}",
            i, (unsigned long long)s.rows_in, (unsigned long long)s.rows_out,
            (unsigned long long)s.blocks_in, (unsigned long long)s.blocks_out,
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
            (unsigned long long)s.tasks, (unsigned long long)s.errors,
            (unsigned long long)s.retries, (unsigned long long)s.skipped_blocks,
            (unsigned long long)s.skipped_rows, s.busy_seconds, s.cpu_seconds,
            s.blocked_seconds, s.wall_seconds, s.workers, s.workers_peak, s.workers_min,
            s.workers_max, (unsigned long long)s.resizes, s.queue_bytes, s.queue_blocks,
            s.queue_bytes_peak, s.queue_blocks_peak, (unsigned long long)s.spilled_bytes,
            (unsigned long long)s.spilled_blocks, (unsigned long long)s.skipped_inputs);
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

int weir_pipeline_stats_table(const weir_pipeline *p, char **text) {
  if (!p)
    return weir__call_fail(NULL, WEIR_EINVAL, "weir_pipeline_stats_table: NULL pipeline");
  if (!text)
    return weir__call_fail(p, WEIR_EINVAL, "weir_pipeline_stats_table: NULL text (where the "
                           "table goes)");
  *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(text, &len);
  if (!f)
    return WEIR_ENOMEM;
  weir_pipeline *mp = (weir_pipeline *)p;
  pthread_mutex_lock(&mp->mu);
  weir_pipeline_stats ps;
  pipeline_snapshot(p, &ps);
  fprintf(f, "%-20s %12s %12s %8s %8s %9s %9s %9s %7s %10s %6s\n", "operator", "rows in",
          "rows out", "blocks", "tasks", "busy s", "cpu s", "blocked s", "peak/rsz",
          "queue peak", "errors");
  for (size_t i = 0; i < p->nops; i++) {
    weir_op_stats s;
    weir__op_snapshot(p->ops[i], &s);
    char q[32], w[48];
    human_bytes(q, sizeof q, (double)s.queue_bytes_peak);
    if (s.resizes)
      snprintf(w, sizeof w, "%d/%llu", s.workers_peak, (unsigned long long)s.resizes);
    else
      snprintf(w, sizeof w, "%d", s.workers_peak);
    fprintf(f, "%-20.20s %12llu %12llu %8llu %8llu %9.3f %9.3f %9.3f %7s %10s %6llu\n", s.name,
            (unsigned long long)s.rows_in, (unsigned long long)s.rows_out,
            (unsigned long long)s.blocks_out, (unsigned long long)s.tasks, s.busy_seconds,
            s.cpu_seconds, s.blocked_seconds, w, q, (unsigned long long)s.errors);
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
  char peak[32], budget[32];
  human_bytes(peak, sizeof peak, (double)ps.bytes_in_flight_peak);
  human_bytes(budget, sizeof budget, (double)ps.memory_budget);
  fprintf(f, "wall %.3f s; in flight peak %s of a %s budget; %s\n", ps.wall_seconds, peak, budget,
          weir_strerror(p->status));
  if (ps.iter_batches)
    fprintf(f, "iterator: %llu batches, consumer blocked %.3f s\n",
            (unsigned long long)ps.iter_batches, ps.iter_blocked_seconds);
  pthread_mutex_unlock(&mp->mu);
  if (fclose(f) != 0) {
    free(*text);
    *text = NULL;
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

/* ---- Progress ----------------------------------------------------------- */

static void op_line(weir_pipeline *p, weir_op *op, char *buf, size_t n, double dt) {
  char q[32];
  human_bytes(q, sizeof q, (double)op->qbytes);
  double rate = dt > 0 ? (double)(op->st.rows_out - op->last_progress_rows) / dt : 0;
  char resize[48] = "";
  if (op->st.resizes)
    snprintf(resize, sizeof resize, " -> %d (%llu resizes)", op->target,
             (unsigned long long)op->st.resizes);
  snprintf(buf, n, "%-16.16s %12llu rows %10.0f rows/s  queue %3zu (%s)  workers %d/%d%s%s",
           op->name, (unsigned long long)op->st.rows_out, rate, op->qblocks, q, op->busy,
           op->live, resize, op->finished ? "  done" : "");
  (void)p;
}

void weir__progress_tick(weir_pipeline *p, int final) {
  if (!p->opts.progress)
    return;
  double now = weir__now();
  pthread_mutex_lock(&p->mu);
  if (!p->progress_init) {
    p->progress_init = 1;
    p->progress_tty = isatty(STDERR_FILENO);
  }
  double dt = now - p->last_progress_t;
  int due = final || (p->progress_tty ? dt >= 0.2 : now - p->last_progress_line >= p->opts.progress_interval);
  if (!due) {
    pthread_mutex_unlock(&p->mu);
    return;
  }
  char line[256];
  if (p->progress_tty) {
    if (p->progress_lines)
      fprintf(stderr, "\x1b[%dA", p->progress_lines);
    int lines = 0;
    for (size_t i = 0; i < p->nops; i++) {
      weir_op *op = p->ops[i];
      if (!op->active)
        continue;
      op_line(p, op, line, sizeof line, dt);
      fprintf(stderr, "\x1b[2K%s\n", line);
      lines++;
    }
    char fl[32];
    human_bytes(fl, sizeof fl, (double)p->in_flight);
    fprintf(stderr, "\x1b[2K%.1f s, %s in flight\n", now - p->t_start, fl);
    p->progress_lines = lines + 1;
  } else {
    char fl[32];
    human_bytes(fl, sizeof fl, (double)p->in_flight);
    fprintf(stderr, "weir progress %.1f s, %s in flight:", now - p->t_start, fl);
    for (size_t i = 0; i < p->nops; i++) {
      weir_op *op = p->ops[i];
      if (op->active)
        fprintf(stderr, " %s %llu rows (q %zu, w %d%s)%s", op->name,
                (unsigned long long)op->st.rows_out, op->qblocks, op->live,
                op->st.resizes ? ", resized" : "", i + 1 < p->nops ? ";" : "");
    }
    fputc('\n', stderr);
    p->last_progress_line = now;
  }
  for (size_t i = 0; i < p->nops; i++)
    p->ops[i]->last_progress_rows = p->ops[i]->st.rows_out;
  p->last_progress_t = now;
  pthread_mutex_unlock(&p->mu);
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
             holder->name, why, holder->qblocks, holder->busy, holder->live);
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
  int consumer_paced = p->itersink && p->itersink->qblocks >= p->itersink->qmax_blocks;
  if (p->progress_count != p->stall_seen || consumer_paced) {
    p->stall_seen = p->progress_count;
    p->stall_since = now;
    p->stall_reported = 0;
  } else if (!p->stall_reported && now - p->stall_since >= p->opts.stall_seconds) {
    char why[512];
    stall_reason(p, why, sizeof why);
    p->stall_reported = 1;
    p->stalls++;
    if (p->opts.stall_is_error) {
      snprintf(p->errmsg, sizeof p->errmsg, "stalled: no progress for %.1f s; %s",
               now - p->stall_since, why);
      weir__log(p, WEIR_LOG_DEBUG, "%s", p->errmsg); /* returned, not printed */
      weir__end_run(p, WEIR_ESTALL);
    } else {
      weir__log(p, WEIR_LOG_WARN, "stalled: no progress for %.1f s; %s", now - p->stall_since,
                why);
    }
  }
  pthread_mutex_unlock(&p->mu);
}
