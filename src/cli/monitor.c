/* The state of a run as the dashboard and /metrics see it. */
#include "cli/monitor.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double monitor_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void monitor_init(monitor *m, const spec *s) {
  memset(m, 0, sizeof *m);
  m->s = s;
  m->t0 = monitor_now();
  m->stderr_level = s ? s->log_level : WEIR_LOG_WARN;
  pthread_mutex_init(&m->mu, NULL);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void sample_free(struct sample *x) {
  free(x->rows_out);
  free(x->bytes_out);
  free(x->workers);
}

void monitor_destroy(monitor *m) {
  for (size_t i = 0; i < m->nsamples; i++) sample_free(&m->samples[i]);
  free(m->samples);
  pthread_mutex_destroy(&m->mu);
}

void monitor_sample(monitor *m) {
  if (!m->p) return;
  int n = weir_pipeline_num_ops(m->p);
  if (n <= 0) return;
  struct sample x = {0};
  x.t = monitor_now() - m->t0;
  x.nops = n;
  x.rows_out = calloc((size_t)n, sizeof *x.rows_out);
  x.bytes_out = calloc((size_t)n, sizeof *x.bytes_out);
  x.workers = calloc((size_t)n, sizeof *x.workers);
  if (!x.rows_out || !x.bytes_out || !x.workers) {
    sample_free(&x);
    return;
  }
  for (int i = 0; i < n; i++) {
    weir_op_stats st;
    if (weir_pipeline_op_stats(m->p, i, &st) != WEIR_OK) continue;
    x.rows_out[i] = st.rows_out;
    x.bytes_out[i] = st.bytes_out;
    x.workers[i] = st.workers;
  }
  weir_pipeline_stats ps;
  if (weir_pipeline_get_stats(m->p, &ps) == WEIR_OK) x.in_flight = ps.bytes_in_flight;
  /* A full history keeps every other sample: the whole run at half the
   * resolution, in bounded memory. */
  if (m->nsamples == MONITOR_SAMPLES) {
    size_t k = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
      if (i % 2 == 0) m->samples[k++] = m->samples[i];
      else sample_free(&m->samples[i]);
    }
    m->nsamples = k;
  }
  if (m->nsamples == m->sample_cap) {
    size_t cap = m->sample_cap ? 2 * m->sample_cap : 64;
    struct sample *ns = realloc(m->samples, cap * sizeof *ns);
    if (!ns) {
      sample_free(&x);
      return;
    }
    m->samples = ns;
    m->sample_cap = cap;
  }
  m->samples[m->nsamples++] = x;
}

char *monitor_history_json(monitor *m) {
  char *out = NULL;
  size_t olen = 0;
  FILE *f = open_memstream(&out, &olen);
  if (!f) return NULL;
  int n = m->nsamples ? m->samples[m->nsamples - 1].nops : 0;
  fputs("{\"t\": [", f);
  for (size_t i = 0; i < m->nsamples; i++) fprintf(f, "%s%.3f", i ? ", " : "", m->samples[i].t);
  fputs("], \"in_flight\": [", f);
  for (size_t i = 0; i < m->nsamples; i++)
    fprintf(f, "%s%zu", i ? ", " : "", m->samples[i].in_flight);
  fputs("], \"operators\": [", f);
  for (int k = 0; k < n; k++) {
    weir_op_stats st;
    const char *name = weir_pipeline_op_stats(m->p, k, &st) == WEIR_OK ? st.name : "";
    fprintf(f, "%s{\"index\": %d, \"name\": ", k ? ", " : "", k);
    json_str(f, name);
    static const char *fields[] = {"rows_out", "bytes_out", "workers"};
    for (int fi = 0; fi < 3; fi++) {
      fprintf(f, ", \"%s\": [", fields[fi]);
      for (size_t i = 0; i < m->nsamples; i++) {
        const struct sample *x = &m->samples[i];
        unsigned long long v = k >= x->nops ? 0
                               : fi == 0    ? x->rows_out[k]
                               : fi == 1    ? x->bytes_out[k]
                                            : (unsigned long long)x->workers[k];
        fprintf(f, "%s%llu", i ? ", " : "", v);
      }
      fputc(']', f);
    }
    fputc('}', f);
  }
  fputs("]}", f);
  fclose(f);
  return out;
}

void monitor_set_state(monitor *m, int state, const char *error) {
  pthread_mutex_lock(&m->mu);
  m->state = state;
  if (error) snprintf(m->error, sizeof m->error, "%s", error);
  pthread_mutex_unlock(&m->mu);
}

static const char *level_name(int l) {
  return l == WEIR_LOG_ERROR ? "error" : l == WEIR_LOG_WARN ? "warning" : l == WEIR_LOG_INFO ? "info" : "debug";
}

void monitor_log(void *user, int level, const char *msg) {
  monitor *m = user;
  /* Progress lines were asked for by an option: stderr, as they are. */
  if (strncmp(msg, "weir progress", 13) == 0) {
    fprintf(stderr, "%s\n", msg);
    return;
  }
  /* Pool changes are logged at DEBUG; the dashboard shows them with their
   * reasons, stderr only when asked for. */
  int keep = level <= WEIR_LOG_INFO || strstr(msg, "workers ") != NULL;
  if (keep) {
    pthread_mutex_lock(&m->mu);
    unsigned idx = (unsigned)(m->nevents++ % MONITOR_EVENTS);
    m->events[idx].t = monitor_now() - m->t0;
    m->events[idx].level = level;
    snprintf(m->events[idx].text, sizeof m->events[idx].text, "%s", msg);
    pthread_mutex_unlock(&m->mu);
  }
  if (level <= m->stderr_level) fprintf(stderr, "weir: %s: %s\n", level_name(level), msg);
}

const char *monitor_node_of(const monitor *m, int index) {
  if (!m->s) return NULL;
  for (size_t i = 0; i < m->s->nops; i++)
    if (index >= m->s->ops[i].first_index && index <= m->s->ops[i].last_index)
      return m->s->ops[i].name;
  return NULL;
}

static const char *state_name(int s) {
  static const char *names[] = {"building", "running", "done", "failed", "cancelled"};
  return s >= 0 && s <= RUN_CANCELLED ? names[s] : "unknown";
}

char *monitor_stats_json(monitor *m) {
  char *base = NULL;
  if (!m->p || weir_pipeline_stats_json(m->p, &base) != WEIR_OK || !base) {
    free(base);
    base = strdup("{\"pipeline\": {}, \"operators\": []}");
    if (!base) return NULL;
  }
  size_t blen = strlen(base);
  while (blen && base[blen - 1] != '}') blen--;
  if (blen) blen--; /* drop the closing brace; the extra keys follow */
  char *out = NULL;
  size_t olen = 0;
  FILE *f = open_memstream(&out, &olen);
  if (!f) {
    free(base);
    return NULL;
  }
  fwrite(base, 1, blen, f);
  free(base);
  pthread_mutex_lock(&m->mu);
  fprintf(f, ", \"state\": \"%s\", \"error\": ", state_name(m->state));
  json_str(f, m->error);
  fprintf(f, ", \"elapsed\": %.3f, \"spec\": ", monitor_now() - m->t0);
  json_str(f, m->s ? m->s->path : "");
  fprintf(f, ", \"graph\": {\"nodes\": [");
  for (size_t i = 0; m->s && i < m->s->nops; i++) {
    const spec_op *o = &m->s->ops[i];
    fprintf(f, "%s{\"name\": ", i ? ", " : "");
    json_str(f, o->name);
    fprintf(f, ", \"kind\": ");
    json_str(f, o->kind ? o->kind->name : "");
    fprintf(f, ", \"ops\": [");
    for (int k = o->first_index; k >= 0 && k <= o->last_index; k++)
      fprintf(f, "%s%d", k > o->first_index ? ", " : "", k);
    fprintf(f, "]}");
  }
  fprintf(f, "], \"edges\": [");
  int first = 1;
  for (size_t i = 0; m->s && i < m->s->nops; i++)
    for (size_t k = 0; k < m->s->ops[i].ninputs; k++) {
      fprintf(f, "%s[", first ? "" : ", ");
      json_str(f, m->s->ops[m->s->ops[i].inputs[k]].name);
      fputs(", ", f);
      json_str(f, m->s->ops[i].name);
      fputc(']', f);
      first = 0;
    }
  fprintf(f, "]}, \"events\": [");
  unsigned long long n = m->nevents, start = n > MONITOR_EVENTS ? n - MONITOR_EVENTS : 0;
  for (unsigned long long e = start; e < n; e++) {
    unsigned idx = (unsigned)(e % MONITOR_EVENTS);
    fprintf(f, "%s{\"t\": %.3f, \"level\": \"%s\", \"text\": ", e > start ? ", " : "",
            m->events[idx].t, level_name(m->events[idx].level));
    json_str(f, m->events[idx].text);
    fputc('}', f);
  }
  fprintf(f, "]}");
  pthread_mutex_unlock(&m->mu);
  fclose(f);
  return out;
}

/* Label values escape backslash, quote and newline (the text format's rule). */
static void label(FILE *f, const char *s) {
  for (const char *p = s ? s : ""; *p; p++) {
    if (*p == '\\') fputs("\\\\", f);
    else if (*p == '"') fputs("\\\"", f);
    else if (*p == '\n') fputs("\\n", f);
    else fputc(*p, f);
  }
}

typedef struct metric {
  const char *name, *type, *help;
  size_t off;       /* offset in weir_op_stats */
  int kind;         /* 0 u64, 1 double, 2 int, 3 size_t */
} metric;

#define M(n, t, h, field, k) {n, t, h, offsetof(weir_op_stats, field), k}
static const metric op_metrics[] = {
  M("weir_op_rows_in_total", "counter", "Rows that entered the operator.", rows_in, 0),
  M("weir_op_rows_out_total", "counter", "Rows the operator emitted.", rows_out, 0),
  M("weir_op_blocks_in_total", "counter", "Blocks that entered the operator.", blocks_in, 0),
  M("weir_op_blocks_out_total", "counter", "Blocks the operator emitted.", blocks_out, 0),
  M("weir_op_bytes_in_total", "counter", "Bytes of blocks that entered the operator.", bytes_in, 0),
  M("weir_op_bytes_out_total", "counter", "Bytes of blocks the operator emitted.", bytes_out, 0),
  M("weir_op_tasks_total", "counter", "Operator calls (tasks) run.", tasks, 0),
  M("weir_op_errors_total", "counter", "Operator calls that failed.", errors, 0),
  M("weir_op_retries_total", "counter", "Operator calls retried.", retries, 0),
  M("weir_op_skipped_blocks_total", "counter", "Input blocks skipped under the error policy.", skipped_blocks, 0),
  M("weir_op_skipped_rows_total", "counter", "Rows skipped under an error policy.", skipped_rows, 0),
  M("weir_op_skipped_inputs_total", "counter", "Input files or objects given up under an error policy.", skipped_inputs, 0),
  M("weir_op_busy_seconds_total", "counter", "Worker seconds spent in operator calls.", busy_seconds, 1),
  M("weir_op_blocked_seconds_total", "counter", "Worker seconds spent waiting on a full output queue.", blocked_seconds, 1),
  M("weir_op_cpu_seconds_total", "counter", "Thread CPU seconds of the operator's workers.", cpu_seconds, 1),
  M("weir_op_resizes_total", "counter", "Pool size changes made by the scheduler.", resizes, 0),
  M("weir_op_spilled_bytes_total", "counter", "Block bytes held on local disk instead of memory.", spilled_bytes, 0),
  M("weir_op_workers", "gauge", "Workers in the operator's pool now.", workers, 2),
  M("weir_op_workers_peak", "gauge", "Most workers the pool has had.", workers_peak, 2),
  M("weir_op_queue_bytes", "gauge", "Bytes waiting in the operator's input queue.", queue_bytes, 3),
  M("weir_op_queue_blocks", "gauge", "Blocks waiting in the operator's input queue.", queue_blocks, 3),
  M("weir_op_queue_max_blocks", "gauge", "Bound of the operator's input queue, in blocks.", queue_max_blocks, 3),
};

char *monitor_metrics(monitor *m) {
  char *out = NULL;
  size_t olen = 0;
  FILE *f = open_memstream(&out, &olen);
  if (!f) return NULL;
  int n = m->p ? weir_pipeline_num_ops(m->p) : 0;
  weir_op_stats *st = calloc(n > 0 ? (size_t)n : 1, sizeof *st);
  if (!st) {
    fclose(f);
    free(out);
    return NULL;
  }
  for (int i = 0; i < n; i++) weir_pipeline_op_stats(m->p, i, &st[i]);
  for (size_t k = 0; k < sizeof op_metrics / sizeof op_metrics[0]; k++) {
    const metric *mt = &op_metrics[k];
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
    for (int i = 0; i < n; i++) {
      const char *base = (const char *)&st[i] + mt->off;
      fprintf(f, "%s{op=\"", mt->name);
      label(f, st[i].name);
      fputs("\",node=\"", f);
      label(f, monitor_node_of(m, i));
      fprintf(f, "\",index=\"%d\"} ", i);
      switch (mt->kind) {
      case 0: fprintf(f, "%llu\n", (unsigned long long)*(const uint64_t *)base); break;
      case 1: fprintf(f, "%.6f\n", *(const double *)base); break;
      case 2: fprintf(f, "%d\n", *(const int *)base); break;
      default: fprintf(f, "%zu\n", *(const size_t *)base); break;
      }
    }
  }
  free(st);
  weir_pipeline_stats ps = {0};
  if (m->p) weir_pipeline_get_stats(m->p, &ps);
  fprintf(f,
          "# HELP weir_pipeline_bytes_in_flight Bytes of blocks in flight now.\n"
          "# TYPE weir_pipeline_bytes_in_flight gauge\nweir_pipeline_bytes_in_flight %zu\n"
          "# HELP weir_pipeline_bytes_in_flight_peak Most bytes of blocks in flight so far.\n"
          "# TYPE weir_pipeline_bytes_in_flight_peak gauge\nweir_pipeline_bytes_in_flight_peak %zu\n"
          "# HELP weir_pipeline_memory_budget_bytes The memory budget of blocks in flight.\n"
          "# TYPE weir_pipeline_memory_budget_bytes gauge\nweir_pipeline_memory_budget_bytes %zu\n"
          "# HELP weir_pipeline_wall_seconds Seconds the run has taken so far.\n"
          "# TYPE weir_pipeline_wall_seconds gauge\nweir_pipeline_wall_seconds %.6f\n"
          "# HELP weir_pipeline_stalls_total Stalls reported.\n"
          "# TYPE weir_pipeline_stalls_total counter\nweir_pipeline_stalls_total %d\n"
          "# HELP weir_pipeline_resizes_total Pool size changes, all operators.\n"
          "# TYPE weir_pipeline_resizes_total counter\nweir_pipeline_resizes_total %llu\n",
          ps.bytes_in_flight, ps.bytes_in_flight_peak, ps.memory_budget, ps.wall_seconds,
          ps.stalls, (unsigned long long)ps.resizes);
  pthread_mutex_lock(&m->mu);
  int state = m->state;
  pthread_mutex_unlock(&m->mu);
  fprintf(f, "# HELP weir_pipeline_state The run's state (1 for the current one).\n"
             "# TYPE weir_pipeline_state gauge\n");
  for (int s = RUN_BUILDING; s <= RUN_CANCELLED; s++)
    fprintf(f, "weir_pipeline_state{state=\"%s\"} %d\n", state_name(s), s == state);
  fclose(f);
  return out;
}
