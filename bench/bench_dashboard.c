/* bench_dashboard: does watching a run slow it? The same spec (JSONL read,
 * parsed, re-encoded as zstd JSONL) runs through `weir run` without a
 * dashboard and with one polled by 50 clients at once (each a fresh
 * connection for /api/stats or /metrics every 250 ms: 200 requests a
 * second), alternating, several rounds; the ratio of the median wall times
 * is the slowdown. The peer is the same command without the dashboard, in
 * the same run.
 *
 *   bench_dashboard [rounds] [MiB of input]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WEIR_CLI_PATH
#define WEIR_CLI_PATH "weir"
#endif
#define CLIENTS 50

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char dir[256];
static atomic_int port, stop;
static atomic_long requests, failures, refused;

static void *client(void *arg) {
  long id = (long)arg;
  char buf[65536];
  while (!atomic_load(&stop)) {
    int p = atomic_load(&port);
    if (p <= 0) {
      usleep(20000);
      continue;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      const char *req = (id & 1) ? "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                 : "GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n";
      /* A request the server accepted fails unless a whole 200 response
       * comes back (the server closes after it). */
      ssize_t n = -1, total = 0;
      int ok = 0;
      if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        while ((n = read(fd, buf + (total < 16 ? total : 16), sizeof buf - 16)) > 0) {
          if (total < 16 && total + n >= 12) ok = strncmp(buf, "HTTP/1.1 200", 12) == 0;
          total += n;
        }
      }
      if (n == 0 && ok) atomic_fetch_add(&requests, 1);
      else atomic_fetch_add(&failures, 1);
    } else if (errno == ECONNREFUSED) {
      /* Nothing listens: the run (and its server) ended a moment ago and
       * the bench has not noticed yet. Counted apart: not a request the
       * server dropped. */
      atomic_fetch_add(&refused, 1);
    } else {
      atomic_fetch_add(&failures, 1);
    }
    close(fd);
    usleep(250000);
  }
  return NULL;
}

/* Runs the spec; with the dashboard, publishes its port to the clients. */
static double run(int dashboard) {
  char errpath[300];
  snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(99);
    FILE *e = freopen(errpath, "w", stderr);
    (void)e;
    if (dashboard)
      execl(WEIR_CLI_PATH, "weir", "run", "spec.yaml", "--dashboard", "127.0.0.1:0", (char *)NULL);
    else
      execl(WEIR_CLI_PATH, "weir", "run", "spec.yaml", (char *)NULL);
    _exit(98);
  }
  if (dashboard) {
    for (int i = 0; i < 2000 && atomic_load(&port) == 0; i++) {
      FILE *f = fopen(errpath, "r");
      char line[256];
      while (f && fgets(line, sizeof line, f)) {
        char *at = strstr(line, "http://127.0.0.1:");
        if (at) atomic_store(&port, atoi(at + 17));
      }
      if (f) fclose(f);
      if (!atomic_load(&port)) usleep(2000);
    }
  }
  int st;
  waitpid(pid, &st, 0);
  double t = now() - t0;
  atomic_store(&port, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_dashboard: weir run failed (status %d); see %s\n", st, errpath);
    exit(1);
  }
  return t;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 5;
  int mib = argc > 2 ? atoi(argv[2]) : 64;
  if (rounds < 1 || mib < 1) {
    fprintf(stderr, "usage: bench_dashboard [rounds] [MiB of input]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir, sizeof dir, "%s/weir-bench-dashboard-XXXXXX", tmp);
  if (!mkdtemp(dir)) return 1;
  char path[400];
  snprintf(path, sizeof path, "%s/in.jsonl", dir);
  FILE *f = fopen(path, "w");
  long long bytes = 0;
  for (long i = 0; bytes < (long long)mib << 20; i++)
    bytes += fprintf(f, "{\"id\": %ld, \"score\": %.3f, \"text\": \"document %ld of the bench, "
                        "with some words to parse and write again\"}\n", i, (double)(i % 1000) / 7.0, i);
  fclose(f);
  snprintf(path, sizeof path, "%s/spec.yaml", dir);
  f = fopen(path, "w");
  fputs("pipeline: {memory_budget: 128MiB, progress: false, summary: false}\n"
        "ops:\n  - {name: src, op: read_jsonl, uri: in.jsonl, range_bytes: 4MiB}\n"
        "  - {name: out, op: write_jsonl, input: src, uri: out/, compression: zstd}\n", f);
  fclose(f);

  pthread_t th[CLIENTS];
  for (long i = 0; i < CLIENTS; i++) pthread_create(&th[i], NULL, client, (void *)i);
  double *plain = calloc((size_t)rounds, sizeof *plain), *watched = calloc((size_t)rounds, sizeof *watched);
  run(0); /* warm the page cache */
  for (int r = 0; r < rounds; r++) {
    plain[r] = run(0);
    long before = atomic_load(&requests);
    watched[r] = run(1);
    printf("round %d: plain %.3f s, watched %.3f s (%ld requests served)\n", r + 1, plain[r],
           watched[r], atomic_load(&requests) - before);
    fflush(stdout);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < CLIENTS; i++) pthread_join(th[i], NULL);
  double *ratio = calloc((size_t)rounds, sizeof *ratio);
  for (int r = 0; r < rounds; r++) ratio[r] = watched[r] / plain[r] - 1;
  qsort(plain, (size_t)rounds, sizeof *plain, cmp);
  qsort(watched, (size_t)rounds, sizeof *watched, cmp);
  double mp = plain[rounds / 2], mw = watched[rounds / 2];
  printf("bench_dashboard: %d MiB JSONL -> zstd JSONL, %d rounds, %d clients polling every 250 ms\n",
         mib, rounds, CLIENTS);
  printf("  median wall: plain %.3f s, with dashboard %.3f s: slowdown %+.1f%% "
         "(requests served %ld, failed %ld; refused after a run ended %ld)\n", mp, mw,
         (mw / mp - 1) * 100, atomic_load(&requests), atomic_load(&failures),
         atomic_load(&refused));
  printf("  each round's slowdown:");
  for (int r = 0; r < rounds; r++) printf(" %+.1f%%", ratio[r] * 100);
  printf("\n");
  free(ratio);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  free(plain);
  free(watched);
  return 0;
}
