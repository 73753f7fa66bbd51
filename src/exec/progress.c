/* Progress of a run: a live block of one line per operator redrawn in
 * place on a terminal, with log lines scrolling above it; a plain line
 * every few seconds when stderr is not a terminal; and lines through the
 * user's log_fn when one is set. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "exec/exec_internal.h"

/* stderr is one per process: its writes, and the block that is drawn on
 * it, are serialised across pipelines and threads. Taken after p->mu,
 * never before. */
static pthread_mutex_t term_mu = PTHREAD_MUTEX_INITIALIZER;

/* Seconds of history the rows/s figure is smoothed over. */
#define RATE_WINDOW 3.0
#define BLOCK_MAX 8192

static void human_bytes(char *buf, size_t n, double v) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    i++;
  }
  snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void human_seconds(char *buf, size_t n, double s) {
  if (s < 0)
    s = 0;
  unsigned long t = (unsigned long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, n, "%luh%02lum", t / 3600, t / 60 % 60);
  else if (t >= 60)
    snprintf(buf, n, "%lum%02lus", t / 60, t % 60);
  else
    snprintf(buf, n, "%lus", t);
}

/* Columns of the terminal on stderr: the terminal's own size, else
 * $COLUMNS, else 80. Read on every draw, so a resized window is followed. */
int weir__term_columns(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *c = getenv("COLUMNS");
  if (c) {
    long v = strtol(c, NULL, 10);
    if (v > 0 && v < 10000)
      return (int)v;
  }
  return 80;
}

/* Cuts `s` to at most `cols` characters (UTF-8 aware: continuation bytes
 * take no column). Terminals wrap a line that reaches the last column
 * differently, so callers pass one less than the width. */
static void fit(char *s, int cols) {
  int n = 0;
  for (char *c = s; *c; c++) {
    if (((unsigned char)*c & 0xC0) != 0x80 && ++n > cols) {
      *c = '\0';
      return;
    }
  }
}

/* The rows an operator has produced; for the run's output, which emits
 * nothing (a writer), the rows it has taken in, i.e. written. */
static uint64_t op_rows(const weir_pipeline *p, size_t i, int *written) {
  uint64_t in, out, tasks;
  weir__progress_ranks_counts(p, i, &in, &out, &tasks);
  *written = p->out == p->ops[i] && out == 0 && in > 0;
  return *written ? in : out;
}

/* Read tasks done by operator i (on every rank, on rank 0 of MPI ranks). */
static uint64_t op_tasks(const weir_pipeline *p, size_t i) {
  uint64_t in, out, tasks;
  weir__progress_ranks_counts(p, i, &in, &out, &tasks);
  return tasks;
}

/* ", all 3 ranks (2 others reporting)" on rank 0 of MPI ranks; "" otherwise. */
static void ranks_note(const weir_pipeline *p, char *buf, size_t n) {
  int ranks, heard = weir__progress_ranks_heard(p, &ranks);
  buf[0] = '\0';
  if (ranks > 1 && p->rank_progress)
    snprintf(buf, n, ", all %d ranks (%d other%s reporting)", ranks, heard,
             heard == 1 ? "" : "s");
}

/* Updates the smoothed rate: an exponential average whose weight follows
 * the time since the last reading, so irregular ticks weigh fairly. */
static void update_rate(weir_pipeline *p, size_t i, double dt) {
  weir_op *op = p->ops[i];
  if (dt <= 0)
    return;
  int written;
  uint64_t rows = op_rows(p, i, &written);
  double inst = (double)(rows - op->last_progress_rows) / dt;
  double a = dt >= RATE_WINDOW ? 1.0 : dt / RATE_WINDOW;
  op->progress_rate = op->progress_rated ? op->progress_rate + a * (inst - op->progress_rate) : inst;
  op->progress_rated = 1;
  op->last_progress_rows = rows;
}

/* One operator's line: rows so far, smoothed rows/s, read tasks done of
 * the total with an estimate of the time left (sources), the input queue,
 * and the workers busy of those running. */
static void op_line(weir_pipeline *p, size_t i, double now, char *buf, size_t n) {
  weir_op *op = p->ops[i];
  int written;
  uint64_t rows = op_rows(p, i, &written);
  int k = snprintf(buf, n, "%-14.14s %10llu rows%s %9.0f/s", op->name, (unsigned long long)rows,
                   written ? " written" : "", op->progress_rate);
  if (k < 0 || (size_t)k >= n)
    return;
  if (op->kind == WEIR__OP_SOURCE && op->num_tasks > 0) {
    uint64_t done = op_tasks(p, i);
    k += snprintf(buf + k, n - k, "  tasks %llu/%zu", (unsigned long long)done, op->num_tasks);
    if (!op->finished && done > 0 && done < op->num_tasks && (size_t)k < n) {
      char eta[32];
      human_seconds(eta, sizeof eta, (now - p->t_start) * (double)(op->num_tasks - done) / (double)done);
      k += snprintf(buf + k, n - k, " ETA %s", eta);
    }
  } else if ((size_t)k < n) {
    char q[32];
    human_bytes(q, sizeof q, (double)op->q.bytes);
    k += snprintf(buf + k, n - k, "  queue %zu (%s)", op->q.blocks, q);
  }
  if ((size_t)k < n && !op->finished)
    k += snprintf(buf + k, n - k, "  busy %d/%d workers", op->busy, op->live);
  if ((size_t)k < n && op->finished)
    snprintf(buf + k, n - k, "  done");
}

/* Composes the live block into `out` (lines ending in '\n', each cut to
 * `cols`); returns the number of lines. Under p->mu. */
static int compose_block(weir_pipeline *p, double now, int cols, char *out, size_t n) {
  size_t len = 0;
  int lines = 0;
  char line[512];
  out[0] = '\0';
  for (size_t i = 0; i < p->nops; i++) {
    weir_op *op = p->ops[i];
    if (!op->active)
      continue;
    op_line(p, i, now, line, sizeof line);
    fit(line, cols);
    int k = snprintf(out + len, n - len, "%s\n", line);
    if (k < 0 || (size_t)k >= n - len)
      break;
    len += (size_t)k;
    lines++;
  }
  char fl[32], el[32], rk[96];
  human_bytes(fl, sizeof fl, (double)p->in_flight);
  human_seconds(el, sizeof el, now - p->t_start);
  ranks_note(p, rk, sizeof rk);
  snprintf(line, sizeof line, "%s elapsed, %s in flight%s%s", el, fl, rk[0] ? " here" : "", rk);
  fit(line, cols);
  int k = snprintf(out + len, n - len, "%s\n", line);
  if (k > 0 && (size_t)k < n - len)
    lines++;
  return lines;
}

/* Erases the block drawn on the terminal: up to its first line, then
 * everything below. Under term_mu. */
static void erase_block(weir_pipeline *p) {
  if (p->progress_lines > 0)
    fprintf(stderr, "\r\x1b[%dA\x1b[J", p->progress_lines);
  p->progress_lines = 0;
}

static void draw_block(weir_pipeline *p) {
  if (!p->progress_block)
    return;
  fputs(p->progress_block, stderr);
  p->progress_lines = p->progress_block_lines;
}

/* Writes one log line on stderr. While a live block is drawn it is erased,
 * the line is written where the block began, and the block is drawn again
 * below it: log lines scroll above the block and stay. */
void weir__term_write_line(weir_pipeline *p, const char *line) {
  pthread_mutex_lock(&term_mu);
  int live = p && p->progress_lines > 0;
  if (live)
    erase_block(p);
  fprintf(stderr, "%s\n", line);
  if (live)
    draw_block(p);
  fflush(stderr);
  pthread_mutex_unlock(&term_mu);
}

static void plain_line(weir_pipeline *p, double now, char *buf, size_t n) {
  char fl[32], rk[96];
  human_bytes(fl, sizeof fl, (double)p->in_flight);
  ranks_note(p, rk, sizeof rk);
  int k = snprintf(buf, n, "weir progress %.1f s, %s in flight%s%s:", now - p->t_start, fl,
                   rk[0] ? " here" : "", rk);
  for (size_t i = 0; i < p->nops && k >= 0 && (size_t)k < n; i++) {
    weir_op *op = p->ops[i];
    if (!op->active)
      continue;
    int written;
    uint64_t rows = op_rows(p, i, &written);
    k += snprintf(buf + k, n - k, " %s %llu rows%s (%.0f/s", op->name, (unsigned long long)rows,
                  written ? " written" : "", op->progress_rate);
    if ((size_t)k < n && op->kind == WEIR__OP_SOURCE && op->num_tasks > 0)
      k += snprintf(buf + k, n - k, ", tasks %llu/%zu", (unsigned long long)op_tasks(p, i),
                    op->num_tasks);
    if ((size_t)k < n)
      k += snprintf(buf + k, n - k, ", %d workers%s)%s", op->live, op->finished ? ", done" : "",
                    i + 1 < p->nops ? ";" : "");
  }
}

void weir__progress_tick(weir_pipeline *p, int final) {
  if (!p->opts.progress)
    return;
  double now = weir__now();
  pthread_mutex_lock(&p->mu);
  if (!p->progress_init) {
    p->progress_init = 1;
    /* A log_fn takes everything weir says: progress goes there as plain
     * lines, never as terminal redraws. */
    p->progress_tty = !p->opts.log_fn && isatty(STDERR_FILENO);
  }
  if (weir__progress_ranks_tick(p)) { /* an MPI rank but 0: rank 0 shows it */
    pthread_mutex_unlock(&p->mu);
    return;
  }
  double dt = now - p->last_progress_t;
  if (dt >= 0.1 || final) {
    for (size_t i = 0; i < p->nops; i++)
      if (p->ops[i]->active)
        update_rate(p, i, dt);
    p->last_progress_t = now;
  }
  int due = final || (p->progress_tty ? now - p->last_progress_line >= 0.2
                                      : now - p->last_progress_line >= p->opts.progress_interval);
  if (!due) {
    pthread_mutex_unlock(&p->mu);
    return;
  }
  p->last_progress_line = now;
  if (p->progress_tty) {
    if (!p->progress_block)
      p->progress_block = malloc(BLOCK_MAX);
    if (!p->progress_block) {
      pthread_mutex_unlock(&p->mu);
      return;
    }
    int cols = weir__term_columns() - 1;
    pthread_mutex_lock(&term_mu);
    p->progress_block_lines = compose_block(p, now, cols < 20 ? 20 : cols, p->progress_block,
                                            BLOCK_MAX);
    erase_block(p);
    draw_block(p);
    /* The final state stays on screen as drawn: what comes next (the
     * summary, the caller's own message) goes below it. */
    if (final)
      p->progress_lines = 0;
    fflush(stderr);
    pthread_mutex_unlock(&term_mu);
    pthread_mutex_unlock(&p->mu);
    return;
  }
  char line[2048];
  plain_line(p, now, line, sizeof line);
  pthread_mutex_unlock(&p->mu);
  /* Asked for by an option, like the summary: not filtered by log_level. */
  weir__log_text(p, WEIR_LOG_INFO, line);
}

void weir__progress_free(weir_pipeline *p) {
  free(p->progress_block);
  p->progress_block = NULL;
  weir__rank_progress_free(p);
}
