/* libweir_mpi: the MPI runtime behind exec/dist_backend.h. One
 * communication thread makes every MPI call (init, nonblocking sends,
 * matched probes and receives, the final barrier, finalize), or, when the
 * program initialised MPI itself at MPI_THREAD_MULTIPLE, all of weir's
 * calls beside the program's, stopping in its MPI_Finalize; libweir's
 * threads talk to it through a queue of outgoing messages and the state
 * below, under one mutex. It also runs rank 0's coordinator of read tasks
 * and watches every other rank through heartbeats. */
#include <errno.h>
#include <mpi.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/dist_backend.h"
#include "weir/error.h"

#define TAG 0x5731 /* weir's messages on its own duplicate of WORLD */
#define CREDITS 8  /* messages in flight per (channel, sender, receiver) */
#define BEAT_S 0.5 /* a heartbeat to every rank this often */

enum { M_TASK_REQ = 1, M_TASK_GRANT, M_DATA, M_CREDIT, M_END, M_FAIL, M_BEAT, M_TAKE_REQ };

/* Every message starts with this. */
typedef struct hdr {
  uint32_t kind;
  int32_t from;
  uint64_t chan, a, b;
} hdr;
/* The payload starts this far into a buffer, aligned for any column. */
#define HDR_SPACE 64

typedef struct outmsg {
  struct outmsg *next;
  int dest;
  void *buf; /* hdr, then payload */
  size_t len;
} outmsg;

typedef struct sent {
  struct sent *next;
  MPI_Request req;
  void *buf;
} sent;

typedef struct inmsg {
  struct inmsg *next;
  int from;
  void *buf;
  size_t len;
} inmsg;

/* A channel's state on this rank: messages received and not yet taken,
 * ends received, and the credits this rank has toward each receiver. */
typedef struct chan {
  struct chan *next;
  uint64_t id;
  inmsg *head, *tail;
  int ends;
  int *credit;
} chan;

/* A worker waiting for the coordinator's answer on a channel. */
typedef struct twait {
  struct twait *next;
  uint64_t chan;
  int done;
  uint64_t first, count;
} twait;

/* The coordinator's state of one source (rank 0). */
typedef struct coord {
  struct coord *next;
  uint64_t chan, next_task, ntasks;
  int ends; /* ranks told "no more" */
} coord;

/* A rank's progress report: opaque bytes of run `run`. */
typedef struct report {
  uint64_t run;
  void *data;
  size_t len;
} report;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;      /* waiters: answers, credits, data, failure */
  pthread_cond_t cv_comm; /* the communication thread: work queued */
  pthread_t thread;
  int ready, init_rc;
  char init_err[512];
  int adopted; /* the program initialised MPI itself, and finalises it */
  int joined;  /* the communication thread has been joined */
  int rank, size;
  MPI_Comm comm;
  outmsg *out_head, *out_tail;
  int stopping;
  int failed;
  char fail_msg[768];
  double timeout;  /* seconds of silence that make a rank failed */
  double *heard;   /* per rank: when it was last heard from */
  chan *chans;
  twait *twaits;
  coord *coords;
  /* Progress: this rank's latest report, sent to rank 0 with each
   * heartbeat, and on rank 0 every rank's latest (rank 0's own unused). */
  report mine, *theirs;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
       .cv_comm = PTHREAD_COND_INITIALIZER};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void copy_err(char *err, size_t n, const char *fmt, ...) {
  if (!err || !n) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

/* Records the first failure; wakes every waiter. Under g.mu. */
static void set_failed(const char *fmt, ...) {
  if (g.failed) return;
  g.failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g.fail_msg, sizeof g.fail_msg, fmt, ap);
  va_end(ap);
  pthread_cond_broadcast(&g.cv);
}

static int fail_code(char *err, size_t n) {
  copy_err(err, n, "%s", g.fail_msg);
  return WEIR_EIO;
}

/* Queues a message for the communication thread. Under g.mu. */
static int queue_msg(int dest, uint32_t kind, uint64_t chan, uint64_t a, uint64_t b,
                     void *buf, size_t payload) {
  if (!buf) {
    buf = malloc(HDR_SPACE);
    if (!buf) return WEIR_ENOMEM;
    payload = 0;
  }
  outmsg *m = malloc(sizeof *m);
  if (!m) {
    free(buf);
    return WEIR_ENOMEM;
  }
  hdr h = {kind, g.rank, chan, a, b};
  memcpy(buf, &h, sizeof h);
  m->next = NULL;
  m->dest = dest;
  m->buf = buf;
  m->len = HDR_SPACE + payload;
  if (g.out_tail) g.out_tail->next = m;
  else g.out_head = m;
  g.out_tail = m;
  pthread_cond_signal(&g.cv_comm);
  return WEIR_OK;
}

static chan *chan_get(uint64_t id) {
  for (chan *c = g.chans; c; c = c->next)
    if (c->id == id) return c;
  chan *c = calloc(1, sizeof *c);
  int *credit = calloc((size_t)g.size, sizeof *credit);
  if (!c || !credit) {
    free(c);
    free(credit);
    return NULL;
  }
  for (int r = 0; r < g.size; r++) credit[r] = CREDITS;
  c->id = id;
  c->credit = credit;
  c->next = g.chans;
  g.chans = c;
  return c;
}

/* The coordinator's next grant for `chan` (rank 0, under g.mu): guided
 * self-scheduling, a share of what is left that shrinks as it runs out
 * (at least one task), so a fast rank comes back for more, a slow one
 * takes less, and messages stay O(1) per task. */
static coord *coord_get(uint64_t chan, uint64_t ntasks) {
  for (coord *c = g.coords; c; c = c->next)
    if (c->chan == chan) return c;
  coord *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->chan = chan;
  c->ntasks = ntasks;
  c->next = g.coords;
  g.coords = c;
  return c;
}

/* Up to `want` of a shared count (rank 0, under g.mu). The entry stays
 * for the process's life: a few words per global limit and run. */
static int coord_take(uint64_t chan, uint64_t total, uint64_t want, uint64_t *got) {
  coord *c = coord_get(chan, total);
  if (!c) return WEIR_ENOMEM;
  uint64_t left = c->ntasks - c->next_task;
  *got = want < left ? want : left;
  c->next_task += *got;
  return WEIR_OK;
}

static int coord_grant(uint64_t chan, uint64_t ntasks, uint64_t *first, uint64_t *count) {
  coord *c = g.coords, **pp = &g.coords;
  for (; c; pp = &c->next, c = c->next)
    if (c->chan == chan) break;
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c) return WEIR_ENOMEM;
    c->chan = chan;
    c->ntasks = ntasks;
    c->next = g.coords;
    g.coords = c;
    pp = &g.coords;
  }
  uint64_t left = c->ntasks - c->next_task;
  uint64_t n = left / (4 * (uint64_t)g.size);
  if (n < 1) n = left ? 1 : 0;
  if (n > 64) n = 64;
  *first = c->next_task;
  *count = n;
  c->next_task += n;
  if (n == 0 && ++c->ends == g.size) { /* every rank knows: forget it */
    *pp = c->next;
    free(c);
  }
  return WEIR_OK;
}

/* A message that arrived. Under g.mu; takes `buf`. */
static void handle(void *buf, size_t len, int from) {
  hdr h;
  if (len < HDR_SPACE) {
    free(buf);
    set_failed("rank %d sent a message of %zu bytes, shorter than weir's header", from, len);
    return;
  }
  memcpy(&h, buf, sizeof h);
  switch (h.kind) {
  case M_TASK_REQ: {
    uint64_t first = 0, count = 0;
    if (coord_grant(h.chan, h.a, &first, &count) != WEIR_OK)
      set_failed("rank 0 (the coordinator) ran out of memory");
    else
      queue_msg(from, M_TASK_GRANT, h.chan, first, count, NULL, 0);
    break;
  }
  case M_TAKE_REQ: {
    uint64_t got = 0;
    if (coord_take(h.chan, h.a, h.b, &got) != WEIR_OK)
      set_failed("rank 0 (the coordinator) ran out of memory");
    else
      queue_msg(from, M_TASK_GRANT, h.chan, 0, got, NULL, 0);
    break;
  }
  case M_TASK_GRANT:
    for (twait *t = g.twaits; t; t = t->next)
      if (t->chan == h.chan && !t->done) {
        t->done = 1;
        t->first = h.a;
        t->count = h.b;
        pthread_cond_broadcast(&g.cv);
        break;
      }
    break;
  case M_DATA: {
    chan *c = chan_get(h.chan);
    inmsg *m = c ? malloc(sizeof *m) : NULL;
    if (!m) {
      set_failed("rank %d: out of memory receiving %zu bytes", g.rank, len);
      break;
    }
    m->next = NULL;
    m->from = from;
    m->buf = buf;
    m->len = len - HDR_SPACE;
    if (c->tail) c->tail->next = m;
    else c->head = m;
    c->tail = m;
    pthread_cond_broadcast(&g.cv);
    return; /* the buffer is the message's now */
  }
  case M_CREDIT: {
    chan *c = chan_get(h.chan);
    if (c) c->credit[from] += (int)h.a;
    pthread_cond_broadcast(&g.cv);
    break;
  }
  case M_END: {
    chan *c = chan_get(h.chan);
    if (c) c->ends++;
    pthread_cond_broadcast(&g.cv);
    break;
  }
  case M_FAIL:
    set_failed("rank %d failed: %.*s", from, (int)(len - HDR_SPACE),
               (const char *)buf + HDR_SPACE);
    break;
  case M_BEAT:
    /* A beat to rank 0 may carry the sender's progress (chan: its run). */
    if (len > HDR_SPACE && g.theirs && from > 0 && from < g.size) {
      report *r = &g.theirs[from];
      void *d = realloc(r->data, len - HDR_SPACE);
      if (d) {
        memcpy(d, (char *)buf + HDR_SPACE, len - HDR_SPACE);
        r->data = d;
        r->len = len - HDR_SPACE;
        r->run = h.chan;
      }
    }
    break;
  default:
    set_failed("rank %d sent a message of unknown kind %u", from, h.kind);
  }
  free(buf);
}

static void mpi_errtext(int rc, char *out, size_t n) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) len = snprintf(s, sizeof s, "error %d", rc);
  snprintf(out, n, "%.*s", len, s);
}

/* One pass of the communication thread: sends queued messages, completes
 * sends, receives what arrived, beats and watches. Returns 1 when it did
 * something. Called without g.mu. */
static int pump(double *last_beat, sent **inflight) {
  int did = 0;
  char why[MPI_MAX_ERROR_STRING + 1];
  pthread_mutex_lock(&g.mu);
  double t = now();
  if (t - *last_beat >= BEAT_S) {
    *last_beat = t;
    for (int r = 0; r < g.size; r++) {
      if (r == g.rank) continue;
      void *buf = NULL;
      size_t n = 0;
      if (r == 0 && g.mine.len && (buf = malloc(HDR_SPACE + g.mine.len))) {
        memcpy((char *)buf + HDR_SPACE, g.mine.data, g.mine.len);
        n = g.mine.len;
      }
      queue_msg(r, M_BEAT, buf ? g.mine.run : 0, 0, 0, buf, n);
    }
  }
  outmsg *out = g.out_head;
  g.out_head = g.out_tail = NULL;
  pthread_mutex_unlock(&g.mu);
  while (out) {
    outmsg *m = out;
    out = m->next;
    sent *s = malloc(sizeof *s);
    int rc = s ? MPI_Isend(m->buf, (int)m->len, MPI_BYTE, m->dest, TAG, g.comm, &s->req)
               : MPI_ERR_NO_MEM;
    if (rc != MPI_SUCCESS) {
      mpi_errtext(rc, why, sizeof why);
      pthread_mutex_lock(&g.mu);
      set_failed("rank %d: sending to rank %d failed: %s", g.rank, m->dest, why);
      pthread_mutex_unlock(&g.mu);
      free(s);
      free(m->buf);
    } else {
      s->buf = m->buf;
      s->next = *inflight;
      *inflight = s;
    }
    free(m);
    did = 1;
  }
  for (sent **pp = inflight; *pp;) {
    sent *s = *pp;
    int flag = 0;
    int rc = MPI_Test(&s->req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || flag) {
      if (rc != MPI_SUCCESS) {
        mpi_errtext(rc, why, sizeof why);
        pthread_mutex_lock(&g.mu);
        set_failed("rank %d: a send failed: %s", g.rank, why);
        pthread_mutex_unlock(&g.mu);
      }
      *pp = s->next;
      free(s->buf);
      free(s);
      did = 1;
    } else {
      pp = &s->next;
    }
  }
  for (;;) {
    int flag = 0;
    MPI_Message msg;
    MPI_Status st;
    int rc = MPI_Improbe(MPI_ANY_SOURCE, TAG, g.comm, &flag, &msg, &st);
    if (rc != MPI_SUCCESS) {
      mpi_errtext(rc, why, sizeof why);
      pthread_mutex_lock(&g.mu);
      set_failed("rank %d: probing for messages failed: %s", g.rank, why);
      pthread_mutex_unlock(&g.mu);
      break;
    }
    if (!flag) break;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    void *buf = malloc(count > 0 ? (size_t)count : 1);
    if (!buf) {
      pthread_mutex_lock(&g.mu);
      set_failed("rank %d: out of memory for a message of %d bytes", g.rank, count);
      pthread_mutex_unlock(&g.mu);
      break;
    }
    rc = MPI_Mrecv(buf, count, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
    pthread_mutex_lock(&g.mu);
    if (rc != MPI_SUCCESS) {
      mpi_errtext(rc, why, sizeof why);
      set_failed("rank %d: receiving from rank %d failed: %s", g.rank, st.MPI_SOURCE, why);
      free(buf);
    } else {
      g.heard[st.MPI_SOURCE] = now();
      handle(buf, (size_t)count, st.MPI_SOURCE);
    }
    pthread_mutex_unlock(&g.mu);
    did = 1;
  }
  pthread_mutex_lock(&g.mu);
  t = now();
  for (int r = 0; r < g.size && !g.failed; r++)
    if (r != g.rank && t - g.heard[r] > g.timeout)
      set_failed("rank %d sent nothing for %.0f s (heartbeats every %.1f s): it died or "
                 "stopped", r, t - g.heard[r], BEAT_S);
  pthread_mutex_unlock(&g.mu);
  return did;
}

static void idle(double secs) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long ns = ts.tv_nsec + (long)(secs * 1e9);
  ts.tv_sec += ns / 1000000000L;
  ts.tv_nsec = ns % 1000000000L;
  pthread_mutex_lock(&g.mu);
  if (!g.out_head && !g.stopping) pthread_cond_timedwait(&g.cv_comm, &g.mu, &ts);
  pthread_mutex_unlock(&g.mu);
}

static const char *thread_level_name(int level) {
  switch (level) {
  case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
  case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
  case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
  case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  default: return "an unknown thread level";
  }
}

static void b_stop(void);

/* The delete callback of an attribute on MPI_COMM_SELF runs first thing
 * in MPI_Finalize: a program that initialised MPI itself finalises it,
 * and weir's thread must have stopped calling MPI by then. After a
 * failure the process ends here, as at exit (exec/dist.c), rather than
 * wait in MPI_Finalize for a rank that failed. */
static int on_program_finalize(MPI_Comm comm, int keyval, void *value, void *extra) {
  (void)comm, (void)keyval, (void)value, (void)extra;
  b_stop();
  pthread_mutex_lock(&g.mu);
  int failed = g.failed;
  char msg[sizeof g.fail_msg];
  snprintf(msg, sizeof msg, "%s", g.fail_msg);
  pthread_mutex_unlock(&g.mu);
  if (failed) {
    fprintf(stderr, "weir: MPI rank %d: %s\n", g.rank, msg);
    fflush(NULL);
    _exit(1);
  }
  return MPI_SUCCESS;
}

/* Joins the MPI the program started itself, if it did. Its calls may
 * come from any thread only at MPI_THREAD_MULTIPLE: below that, weir's
 * thread calling MPI beside the program's would break the program's
 * promise to the library, so it is refused saying what to ask for.
 * Returns MPI_SUCCESS and sets *provided; g.init_rc on a refusal. */
static int init_or_adopt(int *provided) {
  int started = 0, ended = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&ended);
  if (!started)
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
  g.adopted = 1;
  MPI_Query_thread(provided);
  if (ended) {
    g.init_rc = WEIR_ENOTSUP;
    snprintf(g.init_err, sizeof g.init_err, "this program has already finalised MPI");
  } else if (*provided < MPI_THREAD_MULTIPLE) {
    g.init_rc = WEIR_ENOTSUP;
    snprintf(g.init_err, sizeof g.init_err,
             "this program initialised MPI itself at %s; weir calls MPI from a thread of its "
             "own, so such a program must ask MPI_Init_thread for MPI_THREAD_MULTIPLE (or let "
             "weir initialise MPI)", thread_level_name(*provided));
  } else {
    int key = MPI_KEYVAL_INVALID;
    if (MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_program_finalize, &key, NULL) !=
            MPI_SUCCESS ||
        MPI_Comm_set_attr(MPI_COMM_SELF, key, NULL) != MPI_SUCCESS) {
      g.init_rc = WEIR_EIO;
      snprintf(g.init_err, sizeof g.init_err,
               "cannot hook the program's MPI_Finalize (an attribute on MPI_COMM_SELF)");
    }
  }
  return MPI_SUCCESS;
}

/* The final barrier failed: the process must not end as if all went
 * well, and the exit path (exec/dist.c) says why. */
static void final_barrier_failed(const char *call, int rc) {
  char why[MPI_MAX_ERROR_STRING + 1];
  mpi_errtext(rc, why, sizeof why);
  pthread_mutex_lock(&g.mu);
  set_failed("rank %d: the final barrier (%s) failed: %s", g.rank, call, why);
  pthread_mutex_unlock(&g.mu);
}

static void *comm_main(void *arg) {
  (void)arg;
  /* Named so that tools (bench_dist_scale, top -H) can find its CPU time. */
  pthread_setname_np(pthread_self(), "weir-mpi");
  int provided = 0;
  int rc = init_or_adopt(&provided);
  pthread_mutex_lock(&g.mu);
  if (g.init_rc != WEIR_OK) {
    /* refused above */
  } else if (rc != MPI_SUCCESS) {
    char why[MPI_MAX_ERROR_STRING + 1];
    mpi_errtext(rc, why, sizeof why);
    g.init_rc = WEIR_EIO;
    snprintf(g.init_err, sizeof g.init_err, "MPI_Init_thread failed: %s", why);
  } else if (provided < MPI_THREAD_FUNNELED) {
    g.init_rc = WEIR_ENOTSUP;
    snprintf(g.init_err, sizeof g.init_err, "the MPI library grants thread level %d, below "
             "MPI_THREAD_FUNNELED, which weir's communication thread needs", provided);
  } else {
    /* A program's own MPI keeps its own error handler on WORLD. */
    if (!g.adopted) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_dup(MPI_COMM_WORLD, &g.comm);
    MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g.comm, &g.rank);
    MPI_Comm_size(g.comm, &g.size);
    g.heard = calloc((size_t)g.size, sizeof *g.heard);
    if (g.rank == 0) g.theirs = calloc((size_t)g.size, sizeof *g.theirs);
    if (!g.heard || (g.rank == 0 && !g.theirs)) {
      g.init_rc = WEIR_ENOMEM;
      snprintf(g.init_err, sizeof g.init_err, "out of memory");
    }
    double t = now();
    for (int r = 0; g.heard && r < g.size; r++) g.heard[r] = t;
  }
  g.ready = 1;
  pthread_cond_broadcast(&g.cv);
  int ok = g.init_rc == WEIR_OK;
  pthread_mutex_unlock(&g.mu);
  if (!ok) return NULL;

  sent *inflight = NULL;
  double last_beat = 0, nap = 20e-6;
  MPI_Request barrier = MPI_REQUEST_NULL;
  int in_barrier = 0, clean = 0;
  for (;;) {
    int did = pump(&last_beat, &inflight);
    pthread_mutex_lock(&g.mu);
    int stopping = g.stopping, failed = g.failed;
    pthread_mutex_unlock(&g.mu);
    if (failed && stopping) {
      /* Give the failure notices a moment to leave before the process
       * ends (bounded: a dead peer may never take them). */
      double until = now() + 1.0;
      while (inflight && now() < until) {
        pump(&last_beat, &inflight);
        idle(1e-3);
      }
      break;
    }
    if (stopping && !in_barrier) {
      /* Every rank comes here once its program is done; until all have,
       * rank 0 keeps handing out tasks and every rank keeps beating. */
      int rc = MPI_Ibarrier(g.comm, &barrier);
      if (rc != MPI_SUCCESS) {
        final_barrier_failed("MPI_Ibarrier", rc);
        break;
      }
      in_barrier = 1;
    }
    if (in_barrier) {
      int flag = 0;
      int rc = MPI_Test(&barrier, &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        final_barrier_failed("MPI_Test", rc);
        break;
      }
      if (flag && !inflight) {
        clean = 1;
        break;
      }
    }
    if (did) {
      nap = 20e-6;
    } else if (inflight) {
      /* A large send moves only as MPI is called (its fragments go
       * through shared memory as the receiver takes them): keep calling,
       * yielding the core between calls, rather than nap. */
      sched_yield();
    } else {
      idle(nap);
      if (nap < 1e-3) nap *= 2;
    }
  }
  if (clean) {
    MPI_Comm_free(&g.comm);
    if (!g.adopted) MPI_Finalize(); /* else the program does */
  }
  /* After a failure MPI is left as it is: finalising would wait on the
   * rank that failed. The sends still in flight are leaked with it. */
  return NULL;
}

static int b_start(char *err, size_t errlen) {
  const char *t = getenv("WEIR_DIST_TIMEOUT");
  g.timeout = t && atof(t) > 0 ? atof(t) : 10.0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  int prc = pthread_create(&g.thread, &attr, comm_main, NULL);
  pthread_attr_destroy(&attr);
  if (prc != 0) {
    copy_err(err, errlen, "cannot start MPI's communication thread: %s", strerror(prc));
    return WEIR_EIO;
  }
  pthread_mutex_lock(&g.mu);
  while (!g.ready) pthread_cond_wait(&g.cv, &g.mu);
  int rc = g.init_rc;
  if (rc) copy_err(err, errlen, "%s", g.init_err);
  pthread_mutex_unlock(&g.mu);
  if (rc) pthread_join(g.thread, NULL);
  return rc;
}

static int b_rank(void) { return g.rank; }
static int b_size(void) { return g.size; }

/* One question to the coordinator: kind M_TASK_REQ (a grant of tasks)
 * or M_TAKE_REQ (a share of a count), answered on rank 0 itself without
 * a message. */
static int ask(uint32_t kind, uint64_t chan, uint64_t a, uint64_t b, uint64_t *first,
               uint64_t *count, char *err, size_t errlen) {
  pthread_mutex_lock(&g.mu);
  int rc;
  if (g.failed) {
    rc = fail_code(err, errlen);
  } else if (g.rank == 0) {
    *first = 0;
    rc = kind == M_TASK_REQ ? coord_grant(chan, a, first, count) : coord_take(chan, a, b, count);
    if (rc) copy_err(err, errlen, "out of memory");
  } else {
    twait w = {.chan = chan};
    w.next = g.twaits;
    g.twaits = &w;
    rc = queue_msg(0, kind, chan, a, b, NULL, 0);
    while (rc == WEIR_OK && !w.done && !g.failed) pthread_cond_wait(&g.cv, &g.mu);
    for (twait **pp = &g.twaits; *pp; pp = &(*pp)->next)
      if (*pp == &w) {
        *pp = w.next;
        break;
      }
    if (rc == WEIR_OK && !w.done) rc = fail_code(err, errlen);
    *first = w.first;
    *count = w.count;
  }
  pthread_mutex_unlock(&g.mu);
  return rc;
}

static int b_tasks(uint64_t chan, uint64_t ntasks, uint64_t *first, uint64_t *count,
                   char *err, size_t errlen) {
  return ask(M_TASK_REQ, chan, ntasks, 0, first, count, err, errlen);
}

static int b_take(uint64_t chan, uint64_t total, uint64_t want, uint64_t *got, char *err,
                  size_t errlen) {
  uint64_t first;
  return ask(M_TAKE_REQ, chan, total, want, &first, got, err, errlen);
}

static void *b_alloc(size_t len) {
  char *b = malloc(HDR_SPACE + (len ? len : 1));
  return b ? b + HDR_SPACE : NULL;
}

static void b_release(void *payload) {
  if (payload) free((char *)payload - HDR_SPACE);
}

static void deadline_in(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  long ns = ts->tv_nsec + (long)ms * 1000000L;
  ts->tv_sec += ns / 1000000000L;
  ts->tv_nsec = ns % 1000000000L;
}

static int b_send(uint64_t id, int dest, void *payload, size_t len, const int *stop,
                  char *err, size_t errlen) {
  pthread_mutex_lock(&g.mu);
  chan *c = chan_get(id);
  int rc = c ? WEIR_OK : WEIR_ENOMEM;
  while (rc == WEIR_OK && !g.failed && c->credit[dest] <= 0) {
    if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) {
      rc = WEIR_ECANCELED;
      break;
    }
    struct timespec ts;
    deadline_in(&ts, 100);
    pthread_cond_timedwait(&g.cv, &g.mu, &ts);
  }
  if (rc == WEIR_OK && g.failed) rc = fail_code(err, errlen);
  if (rc == WEIR_OK) {
    c->credit[dest]--;
    rc = queue_msg(dest, M_DATA, id, 0, 0, (char *)payload - HDR_SPACE, len);
    payload = NULL;
  }
  pthread_mutex_unlock(&g.mu);
  if (payload) b_release(payload);
  if (rc == WEIR_ENOMEM) copy_err(err, errlen, "out of memory");
  return rc;
}

static int b_send_end(uint64_t id, int dest, char *err, size_t errlen) {
  pthread_mutex_lock(&g.mu);
  int rc = g.failed ? fail_code(err, errlen) : queue_msg(dest, M_END, id, 0, 0, NULL, 0);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

static int b_recv(uint64_t id, int timeout_ms, void **payload, size_t *len, int *from,
                  char *err, size_t errlen) {
  struct timespec ts;
  deadline_in(&ts, timeout_ms);
  pthread_mutex_lock(&g.mu);
  chan *c = chan_get(id);
  int rc = c ? 2 : WEIR_ENOMEM;
  while (rc == 2) {
    if (c->head) {
      inmsg *m = c->head;
      c->head = m->next;
      if (!c->head) c->tail = NULL;
      *payload = (char *)m->buf + HDR_SPACE;
      *len = m->len;
      *from = m->from;
      /* Taken: the sender may send one more. */
      queue_msg(m->from, M_CREDIT, id, 1, 0, NULL, 0);
      free(m);
      rc = 1;
    } else if (c->ends >= g.size - 1) {
      rc = 0;
    } else if (g.failed) {
      rc = fail_code(err, errlen);
    } else if (pthread_cond_timedwait(&g.cv, &g.mu, &ts) == ETIMEDOUT) {
      break;
    }
  }
  pthread_mutex_unlock(&g.mu);
  if (rc == WEIR_ENOMEM) copy_err(err, errlen, "out of memory");
  return rc;
}

static void b_close(uint64_t id) {
  pthread_mutex_lock(&g.mu);
  for (chan **pp = &g.chans; *pp; pp = &(*pp)->next)
    if ((*pp)->id == id) {
      chan *c = *pp;
      *pp = c->next;
      while (c->head) {
        inmsg *m = c->head;
        c->head = m->next;
        free(m->buf);
        free(m);
      }
      free(c->credit);
      free(c);
      break;
    }
  pthread_mutex_unlock(&g.mu);
}

static void b_fail(const char *msg) {
  size_t n = strlen(msg);
  pthread_mutex_lock(&g.mu);
  if (!g.failed) {
    for (int r = 0; r < g.size; r++) {
      if (r == g.rank) continue;
      void *p = b_alloc(n);
      if (!p) break;
      memcpy(p, msg, n);
      queue_msg(r, M_FAIL, 0, 0, 0, (char *)p - HDR_SPACE, n);
    }
    /* This rank's own waits end too, naming itself. */
    set_failed("rank %d failed: %s", g.rank, msg);
  }
  pthread_mutex_unlock(&g.mu);
}

static int b_failed(char *err, size_t errlen) {
  pthread_mutex_lock(&g.mu);
  int f = g.failed;
  if (f) copy_err(err, errlen, "%s", g.fail_msg);
  pthread_mutex_unlock(&g.mu);
  return f;
}

static void b_report(uint64_t run, const void *data, size_t len) {
  pthread_mutex_lock(&g.mu);
  void *d = len ? realloc(g.mine.data, len) : g.mine.data;
  if (d) {
    if (len) memcpy(d, data, len);
    g.mine.data = d;
    g.mine.len = len;
    g.mine.run = run;
  }
  pthread_mutex_unlock(&g.mu);
}

static int b_reports(uint64_t run, void (*each)(void *user, int rank, const void *data,
                                                 size_t len),
                     void *user) {
  int n = 0;
  pthread_mutex_lock(&g.mu);
  for (int r = 1; g.theirs && r < g.size; r++)
    if (g.theirs[r].run == run && g.theirs[r].len) {
      each(user, r, g.theirs[r].data, g.theirs[r].len);
      n++;
    }
  pthread_mutex_unlock(&g.mu);
  return n;
}

/* Once: at exit, or in the program's MPI_Finalize when MPI is its. */
static void b_stop(void) {
  pthread_mutex_lock(&g.mu);
  g.stopping = 1;
  pthread_cond_signal(&g.cv_comm);
  int join = !g.joined;
  g.joined = 1;
  pthread_mutex_unlock(&g.mu);
  if (join) pthread_join(g.thread, NULL);
}

static const weir__dist_backend backend = {
  WEIR__DIST_ABI, b_start, b_rank, b_size, b_tasks, b_take, b_alloc, b_release, b_send,
  b_send_end, b_recv, b_close, b_fail, b_failed, b_stop, b_report, b_reports,
};

__attribute__((visibility("default"))) const weir__dist_backend *weir_mpi_backend_v1(void);
const weir__dist_backend *weir_mpi_backend_v1(void) { return &backend; }
