/* The `summary` option on MPI ranks: every rank sends rank 0 its own
 * statistics table with a record of its counters, and rank 0 logs each
 * rank's table under a heading naming it, then one table of all ranks,
 * whose totals add the ranks' counters and whose last columns put the
 * rows each rank emitted side by side, so an uneven share shows at a
 * glance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text_buf.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "weir/error.h"
#include "weir/stats.h"

/* Separates a rank's record of counters from its table in what it sends. */
#define RECORD_END "\x1e\n"
/* Up to this many ranks get a column each; past it, the least and the
 * most rows out, with their ranks. */
#define RANK_COLUMNS 8

/* One operator's counters in a record line (the name last: it may hold
 * spaces). */
typedef struct op_record {
  unsigned long long rows_in, rows_out, skipped, dropped;
  double cpu;
  char name[128];
} op_record;

int weir__dist_summary_payload(const weir_pipeline *p, const char *table, char **out) {
  weir__text t = {0};
  weir_pipeline_stats ps;
  if (weir_pipeline_get_stats(p, &ps) == WEIR_OK)
    weir__text_put(&t, "wall %.6f\n", ps.wall_seconds);
  int n = weir_pipeline_num_ops(p);
  for (int i = 0; i < n; i++) {
    weir_op_stats st;
    if (weir_pipeline_op_stats(p, i, &st) != WEIR_OK) continue;
    char name[128];
    snprintf(name, sizeof name, "%s", st.name ? st.name : "?");
    for (char *c = name; *c; c++)
      if (*c == '\n' || *c == '\x1e') *c = ' ';
    weir__text_put(&t, "op %llu %llu %llu %llu %.6f %s\n", (unsigned long long)st.rows_in,
        (unsigned long long)st.rows_out, (unsigned long long)st.skipped_rows,
        (unsigned long long)st.dropped_rows, st.cpu_seconds, name);
  }
  weir__text_put(&t, "%s%s", RECORD_END, table);
  if (t.oom) {
    free(t.p);
    return WEIR_ENOMEM;
  }
  *out = t.p;
  return WEIR_OK;
}

/* A rank's payload read back: its wall time, operators and table. A
 * payload that is not one (NULL: nothing came) leaves nops 0 and the
 * table NULL. */
typedef struct rank_part {
  double wall;
  op_record *ops;
  int nops;
  const char *table;
} rank_part;

static int parse_part(const char *payload, rank_part *rp) {
  memset(rp, 0, sizeof *rp);
  if (!payload) return WEIR_OK;
  const char *end = strstr(payload, RECORD_END);
  if (!end) {
    rp->table = payload; /* a table alone: shown, not added */
    return WEIR_OK;
  }
  rp->table = end + strlen(RECORD_END);
  int cap = 0;
  for (const char *line = payload; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl) break;
    op_record r;
    int used = 0;
    if (sscanf(line, "wall %lf", &rp->wall) == 1) {
      /* the wall time */
    } else if (sscanf(line, "op %llu %llu %llu %llu %lf %n", &r.rows_in, &r.rows_out,
                      &r.skipped, &r.dropped, &r.cpu, &used) == 5 && used > 0) {
      snprintf(r.name, sizeof r.name, "%.*s", (int)(nl - line - used), line + used);
      if (rp->nops == cap) {
        cap = cap ? 2 * cap : 16;
        op_record *m = realloc(rp->ops, (size_t)cap * sizeof *m);
        if (!m) return WEIR_ENOMEM;
        rp->ops = m;
      }
      rp->ops[rp->nops++] = r;
    }
    line = nl + 1;
  }
  return WEIR_OK;
}

static void add_rank_table(weir__text *t, int rank, int size, const char *table) {
  weir__text_put(t, "weir summary of rank %d of %d%s:\n", rank, size,
                 rank ? " (gathered on rank 0)" : "");
  if (!table) {
    weir__text_put(t, "(nothing received)\n");
    return;
  }
  size_t n = strlen(table);
  weir__text_put(t, "%s%s", table, n && table[n - 1] == '\n' ? "" : "\n");
}

/* The table of all ranks: operators in the order of rank 0's record
 * (every rank builds the same pipeline; a rank whose operator at that
 * place has another name is left out of that line's totals). */
static void add_all_ranks(weir__text *t, const rank_part *parts, int size) {
  const rank_part *ref = NULL;
  for (int r = 0; r < size && !ref; r++)
    if (parts[r].nops) ref = &parts[r];
  if (!ref) return;
  int reported = 0, slowest = 0;
  for (int r = 0; r < size; r++) {
    if (parts[r].nops) reported++;
    if (parts[r].wall > parts[slowest].wall) slowest = r;
  }
  int per_rank = size <= RANK_COLUMNS;
  weir__text_put(t, "weir summary of all %d ranks:\n", size);
  weir__text_put(t, "%-16s %12s %12s %10s %10s %9s", "operator", "rows in", "rows out", "dropped",
      "skipped", "cpu s");
  if (per_rank) {
    for (int r = 0; r < size; r++) {
      char h[32];
      snprintf(h, sizeof h, "out r%d", r);
      weir__text_put(t, " %10s", h);
    }
  } else {
    weir__text_put(t, " %18s %18s", "least out (rank)", "most out (rank)");
  }
  weir__text_put(t, "\n");
  for (int i = 0; i < ref->nops; i++) {
    const char *name = ref->ops[i].name;
    unsigned long long in = 0, out = 0, dropped = 0, skipped = 0;
    double cpu = 0;
    int lo = -1, hi = -1;
    for (int r = 0; r < size; r++) {
      if (i >= parts[r].nops || strcmp(parts[r].ops[i].name, name)) continue;
      const op_record *o = &parts[r].ops[i];
      in += o->rows_in, out += o->rows_out, dropped += o->dropped, skipped += o->skipped;
      cpu += o->cpu;
      if (lo < 0 || o->rows_out < parts[lo].ops[i].rows_out) lo = r;
      if (hi < 0 || o->rows_out > parts[hi].ops[i].rows_out) hi = r;
    }
    weir__text_put(t, "%-16.16s %12llu %12llu %10llu %10llu %9.3f", name, in, out, dropped,
                   skipped, cpu);
    if (per_rank) {
      for (int r = 0; r < size; r++) {
        if (i < parts[r].nops && !strcmp(parts[r].ops[i].name, name))
          weir__text_put(t, " %10llu", parts[r].ops[i].rows_out);
        else
          weir__text_put(t, " %10s", "-");
      }
    } else if (lo >= 0) {
      char a[32], b[32];
      snprintf(a, sizeof a, "%llu (%d)", parts[lo].ops[i].rows_out, lo);
      snprintf(b, sizeof b, "%llu (%d)", parts[hi].ops[i].rows_out, hi);
      weir__text_put(t, " %18s %18s", a, b);
    }
    weir__text_put(t, "\n");
  }
  weir__text_put(t, "%d of %d ranks reported; wall %.3f s on the slowest (rank %d)\n", reported,
                 size,
      parts[slowest].wall, slowest);
}

int weir__dist_summary_render(char *const *payloads, int size, char **out) {
  *out = NULL;
  rank_part *parts = calloc((size_t)size, sizeof *parts);
  if (!parts) return WEIR_ENOMEM;
  int rc = WEIR_OK;
  for (int r = 0; r < size && rc == WEIR_OK; r++) rc = parse_part(payloads[r], &parts[r]);
  weir__text t = {0};
  for (int r = 0; r < size && rc == WEIR_OK; r++) add_rank_table(&t, r, size, parts[r].table);
  if (rc == WEIR_OK) add_all_ranks(&t, parts, size);
  for (int r = 0; r < size; r++) free(parts[r].ops);
  free(parts);
  if (rc == WEIR_OK && t.oom) rc = WEIR_ENOMEM;
  if (rc != WEIR_OK) {
    free(t.p);
    return rc;
  }
  *out = t.p;
  return WEIR_OK;
}
