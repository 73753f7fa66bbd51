/* Progress on MPI ranks: rank 0 alone shows it, with the counts of every
 * rank. Each other rank reports its operators' rows and read tasks to
 * rank 0 on every progress tick; the MPI runtime carries the latest
 * report with its next heartbeat (every half second), and rank 0 adds the
 * latest of each rank to its own counts. Every rank builds the same
 * pipeline, so operator i is the same operator everywhere. */
#include <stdlib.h>
#include <string.h>

#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "weir/dist.h"

/* Per operator, in a report: rows in, rows out, read tasks done. */
enum { FIELDS = 3 };

struct weir__rank_progress {
  size_t nops;
  uint64_t *others; /* nops x FIELDS: the other ranks' latest, added */
  uint64_t *report; /* 1 + nops x FIELDS: this rank's, to send */
  int reporting;    /* other ranks whose report of this run came */
};

static void add_report(void *user, int rank, const void *data, size_t len) {
  (void)rank;
  weir__rank_progress *rp = user;
  uint64_t n;
  if (len < sizeof n) return;
  memcpy(&n, data, sizeof n);
  if (n != rp->nops || len != (1 + n * FIELDS) * sizeof n) return; /* not this pipeline */
  const unsigned char *v = (const unsigned char *)data + sizeof n;
  for (size_t i = 0; i < n * FIELDS; i++) {
    uint64_t x;
    memcpy(&x, v + i * sizeof x, sizeof x);
    rp->others[i] += x;
  }
  rp->reporting++;
}

int weir__progress_ranks_tick(weir_pipeline *p) {
  if (!p->dist || weir_dist_size() < 2) return 0;
  const weir__dist_backend *be = weir__dist_backend_get();
  if (!be) return 0;
  weir__rank_progress *rp = p->rank_progress;
  if (!rp || rp->nops != p->nops) {
    weir__rank_progress_free(p);
    rp = calloc(1, sizeof *rp);
    if (!rp) return weir_dist_rank() != 0;
    rp->nops = p->nops;
    rp->others = calloc(p->nops * FIELDS + 1, sizeof *rp->others);
    rp->report = calloc(p->nops * FIELDS + 1, sizeof *rp->report);
    p->rank_progress = rp;
    if (!rp->others || !rp->report) {
      weir__rank_progress_free(p);
      return weir_dist_rank() != 0;
    }
  }
  if (weir_dist_rank() != 0) {
    rp->report[0] = p->nops;
    for (size_t i = 0; i < p->nops; i++) {
      const weir_op *op = p->ops[i];
      rp->report[1 + i * FIELDS] = op->st.rows_in;
      rp->report[2 + i * FIELDS] = op->st.rows_out;
      rp->report[3 + i * FIELDS] = op->st.tasks;
    }
    be->report(p->dist_run, rp->report, (1 + p->nops * FIELDS) * sizeof *rp->report);
    return 1;
  }
  memset(rp->others, 0, p->nops * FIELDS * sizeof *rp->others);
  rp->reporting = 0;
  be->reports(p->dist_run, add_report, rp);
  return 0;
}

void weir__progress_ranks_counts(const weir_pipeline *p, size_t i, uint64_t *rows_in,
                                 uint64_t *rows_out, uint64_t *tasks) {
  const weir_op *op = p->ops[i];
  *rows_in = op->st.rows_in;
  *rows_out = op->st.rows_out;
  *tasks = op->st.tasks;
  const weir__rank_progress *rp = p->rank_progress;
  if (!rp || i >= rp->nops) return;
  const uint64_t *o = rp->others + i * FIELDS;
  *rows_in += o[0];
  *rows_out += o[1];
  *tasks += o[2];
}

int weir__progress_ranks_heard(const weir_pipeline *p, int *ranks) {
  *ranks = p->dist ? weir_dist_size() : 1;
  return p->rank_progress ? p->rank_progress->reporting : 0;
}

void weir__rank_progress_free(weir_pipeline *p) {
  weir__rank_progress *rp = p->rank_progress;
  if (!rp) return;
  free(rp->others);
  free(rp->report);
  free(rp);
  p->rank_progress = NULL;
}
