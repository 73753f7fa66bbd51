/* What the dashboard and the metrics read about a run: the pipeline, the
 * spec's graph, the run's state and the scheduler's events (pool changes
 * and their reasons, warnings), captured from the pipeline's log. */
#ifndef WEIR_CLI_MONITOR_H
#define WEIR_CLI_MONITOR_H

#include <pthread.h>
#include <weir.h>

#include "cli/spec.h"

enum { RUN_BUILDING = 0, RUN_RUNNING, RUN_DONE, RUN_FAILED, RUN_CANCELLED };

#define MONITOR_EVENTS 256

typedef struct monitor {
  weir_pipeline  *p;
  const spec     *s;
  double          t0;          /* monotonic seconds at start */
  pthread_mutex_t mu;          /* guards what follows */
  int             state;       /* RUN_* */
  char            error[1024];
  struct { double t; int level; char text[240]; } events[MONITOR_EVENTS];
  unsigned long long nevents;  /* total ever; the ring keeps the last */
  int             stderr_level;/* log lines at or above this go to stderr */
  /* Samples taken every second while the dashboard is up, so that a page
   * opened late (or after the end) can draw the whole run. */
  struct sample {
    double t;
    size_t in_flight;
    int    nops;
    uint64_t *rows_out, *bytes_out;
    int      *workers;
  } *samples;
  size_t          nsamples, sample_cap;
} monitor;

#define MONITOR_SAMPLES 3600

/* Takes one sample of every operator's counters (the loop thread). */
void   monitor_sample(monitor *m);
/* {"t": [...], "in_flight": [...], "operators": [{"name", "rows_out",
 * "bytes_out", "workers"}...]}; free() it. */
char  *monitor_history_json(monitor *m);

void   monitor_init(monitor *m, const spec *s);
void   monitor_destroy(monitor *m);
void   monitor_set_state(monitor *m, int state, const char *error);
/* A weir_log_fn: records the line and echoes it to stderr by level. */
void   monitor_log(void *user, int level, const char *msg);
double monitor_now(void);
/* The stats JSON of the pipeline with the dashboard's keys added: "state",
 * "error", "elapsed", "spec", "graph" and "events". free() it. */
char  *monitor_stats_json(monitor *m);
/* Prometheus text exposition (version 0.0.4). free() it. */
char  *monitor_metrics(monitor *m);
/* The spec operator that created weir op `index`, or NULL. */
const char *monitor_node_of(const monitor *m, int index);

#endif
