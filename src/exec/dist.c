/* Where a program runs: one process, or MPI ranks through libweir_mpi,
 * which this file loads with dlopen() the first time a pipeline asks for
 * MPI (exec/dist_backend.h), so that programs that never do are not
 * linked with MPI. Also the executor's calls into it: read tasks from the
 * coordinator, the run's number, a failure told to the other ranks. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/block_internal.h"
#include "exec/dist_backend.h"
#include "exec/dist_internal.h"
#include "exec/exec_internal.h"
#include "weir/dist.h"
#include "weir/error.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const weir__dist_backend *backend; /* set once started */
static int start_rc;
static char start_err[1024];
static atomic_ullong runs;

/* The environment of a process that mpirun, mpiexec or srun started: what
 * MPI_Init needs to join the others instead of running alone. */
static int launched(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                     "PMI_SIZE", "MPI_LOCALNRANKS", NULL};
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

/* At exit: the runtime waits for every rank, then finalises MPI. When a
 * rank failed (now or earlier) the process must not look successful to
 * mpirun or to a job script: it says why and ends with status 1. */
static void on_exit_stop(void) {
  if (!backend) return;
  backend->stop();
  char err[1024];
  if (backend->failed(err, sizeof err)) {
    fprintf(stderr, "weir: MPI rank %d: %s\n", backend->rank(), err);
    fflush(NULL);
    _exit(1);
  }
}

/* Tries the places libweir_mpi may be, in order; returns the handle and
 * leaves the reasons of the failures in `why`. */
static void *open_runtime(char *why, size_t n) {
  char here[4096] = "";
  Dl_info info;
  if (dladdr((void *)&weir_dist_rank, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash)
      snprintf(here, sizeof here, "%.*s/libweir_mpi.so.0", (int)(slash - info.dli_fname),
               info.dli_fname);
  }
  const char *env = getenv("WEIR_MPI_LIBRARY");
  const char *tries[] = {
    env && *env ? env : NULL, here[0] ? here : NULL,
#ifdef WEIR_MPI_BUILD_PATH
    WEIR_MPI_BUILD_PATH,
#endif
#ifdef WEIR_MPI_INSTALL_PATH
    WEIR_MPI_INSTALL_PATH,
#endif
    "libweir_mpi.so.0"};
  size_t k = 0;
  why[0] = 0;
  for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
    if (!tries[i]) continue;
    void *h = dlopen(tries[i], RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    const char *e = dlerror();
    if (k < n) k += (size_t)snprintf(why + k, n - k, "%s%s", k ? "; " : "", e ? e : tries[i]);
    if (env && *env && tries[i] == env) break; /* asked for that one: no other */
  }
  return NULL;
}

static void start(void) {
  if (!launched()) {
    start_rc = WEIR_ENOTSUP;
    snprintf(start_err, sizeof start_err,
             "WEIR_DIST=mpi asks for MPI ranks, and this process was not started by "
             "mpirun, mpiexec or srun (none of OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK in "
             "its environment): run it as `mpirun -np N prog`, or unset WEIR_DIST");
    return;
  }
  char why[768];
  void *h = open_runtime(why, sizeof why);
  if (!h) {
    start_rc = WEIR_ENOTSUP;
    snprintf(start_err, sizeof start_err,
             "WEIR_DIST=mpi needs weir's MPI runtime (libweir_mpi.so.0, built when CMake finds "
             "MPI; WEIR_MPI_LIBRARY names another path), which could not be loaded: %s", why);
    return;
  }
  weir__dist_backend_fn get = (weir__dist_backend_fn)dlsym(h, "weir_mpi_backend_v1");
  const weir__dist_backend *b = get ? get() : NULL;
  if (!b || b->abi != WEIR__DIST_ABI) {
    start_rc = WEIR_ENOTSUP;
    snprintf(start_err, sizeof start_err,
             "WEIR_DIST=mpi: the MPI runtime loaded is not this version of weir's (%s)",
             b ? "another interface version" : "no weir_mpi_backend_v1");
    return;
  }
  char err[768] = "";
  int rc = b->start(err, sizeof err);
  if (rc != WEIR_OK) {
    start_rc = rc;
    snprintf(start_err, sizeof start_err, "WEIR_DIST=mpi: starting MPI failed: %s", err);
    return;
  }
  backend = b;
  atexit(on_exit_stop);
}

/* The mode asked for: the option, else WEIR_DIST. */
static int wanted(int opt, int *mode) {
  if (opt == WEIR_DIST_MPI || opt == WEIR_DIST_LOCAL) {
    *mode = opt;
    return WEIR_OK;
  }
  if (opt != WEIR_DIST_DEFAULT)
    return weir__set_last_error(WEIR_EINVAL, "weir_pipeline_create: dist %d is not a "
                                "WEIR_DIST_* value", opt);
  const char *want = getenv("WEIR_DIST");
  if (!want || !*want || !strcmp(want, "local") || !strcmp(want, "none")) {
    *mode = WEIR_DIST_LOCAL;
    return WEIR_OK;
  }
  if (!strcmp(want, "mpi")) {
    *mode = WEIR_DIST_MPI;
    return WEIR_OK;
  }
  return weir__set_last_error(WEIR_EINVAL,
                              "weir_pipeline_create: WEIR_DIST=%s is not a distribution "
                              "(mpi, or unset for one process)", want);
}

int weir__dist_setup(int opt, int *dist) {
  int mode = WEIR_DIST_LOCAL;
  *dist = 0;
  int rc = wanted(opt, &mode);
  if (rc != WEIR_OK) return rc;
  if (mode != WEIR_DIST_MPI) return WEIR_OK;
  pthread_once(&once, start);
  if (start_rc != WEIR_OK)
    return weir__set_last_error(start_rc, "weir_pipeline_create: %s", start_err);
  *dist = 1;
  return WEIR_OK;
}

int weir_dist_rank(void) {
  int d;
  if (!backend && getenv("WEIR_DIST") && !strcmp(getenv("WEIR_DIST"), "mpi"))
    weir__dist_setup(WEIR_DIST_DEFAULT, &d);
  return backend ? backend->rank() : 0;
}

int weir_dist_size(void) {
  int d;
  if (!backend && getenv("WEIR_DIST") && !strcmp(getenv("WEIR_DIST"), "mpi"))
    weir__dist_setup(WEIR_DIST_DEFAULT, &d);
  return backend ? backend->size() : 1;
}

uint64_t weir__dist_new_run(void) { return atomic_fetch_add(&runs, 1) + 1; }

uint64_t weir__dist_chan(const weir_pipeline *p, const weir_op *op) {
  return (p->dist_run << 24) | (uint64_t)(op->index + 1);
}

const weir__dist_backend *weir__dist_backend_get(void) { return backend; }

int weir__dist_tasks(weir_op *op, uint64_t *first, uint64_t *count, char *err, size_t n) {
  return backend->tasks(weir__dist_chan(op->p, op), op->num_tasks, first, count, err, n);
}

int weir__dist_take(weir_op *op, uint64_t want, uint64_t *got, char *err, size_t n) {
  return backend->take(weir__dist_chan(op->p, op), op->limit_rows, want, got, err, n);
}

int weir__dist_gather_text(weir_pipeline *p, const char *mine, char ***all) {
  *all = NULL;
  const weir__dist_backend *be = backend;
  int size = be->size(), rank = be->rank();
  /* The last channel number of the run: no operator has it. */
  uint64_t chan = (p->dist_run << 24) | 0xffffffu;
  char err[768] = "";
  size_t n = strlen(mine);
  if (rank != 0) {
    void *buf = be->alloc(n);
    if (!buf) return WEIR_ENOMEM;
    memcpy(buf, mine, n);
    int rc = be->send(chan, 0, buf, n, NULL, err, sizeof err);
    if (rc == WEIR_OK) rc = be->send_end(chan, 0, err, sizeof err);
    be->close(chan);
    return rc;
  }
  /* Rank 0: its own, then the others' as they come. */
  char **texts = calloc((size_t)size, sizeof *texts);
  int rc = texts && (texts[0] = strdup(mine)) ? WEIR_OK : WEIR_ENOMEM;
  for (;;) {
    if (rc != WEIR_OK) break;
    void *payload;
    size_t len;
    int from;
    int got = be->recv(chan, 200, &payload, &len, &from, err, sizeof err);
    if (got == 0) break;
    if (got == 2) continue; /* the heartbeat tells a dead rank from a slow one */
    if (got < 0) {
      rc = got;
      break;
    }
    if (from > 0 && from < size && !texts[from] && (texts[from] = malloc(len + 1))) {
      memcpy(texts[from], payload, len);
      texts[from][len] = 0;
    }
    be->release(payload);
  }
  be->close(chan);
  if (rc != WEIR_OK) {
    weir__dist_free_texts(texts);
    return rc;
  }
  *all = texts;
  return WEIR_OK;
}

void weir__dist_free_texts(char **texts) {
  if (!texts) return;
  for (int r = 0; r < weir_dist_size(); r++) free(texts[r]);
  free(texts);
}

void weir__dist_tell_failure(const char *msg) {
  if (backend) backend->fail(msg);
}
