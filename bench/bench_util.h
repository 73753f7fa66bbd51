/* What the benchmark programs share: clocks, a CPU burner measured in
 * thread CPU time (so a loaded machine stretches wall time, not the work),
 * and one-row blocks of an int64 "id". Included by bench/bench_*.c and
 * bench/peers/bench_ray.c; static inline, so each program keeps only what
 * it uses. */
#ifndef WEIR_BENCH_UTIL_H
#define WEIR_BENCH_UTIL_H

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include <weir.h>

/* Monotonic wall-clock seconds. */
static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* Burns CPU for `us` microseconds of the calling thread's CPU time. */
static inline void burn_us(double us) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  double end = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3 + us;
  volatile unsigned x = 1;
  for (;;) {
    for (int i = 0; i < 200; i++)
      x = x * 1664525u + 1013904223u;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    if ((double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3 >= end)
      break;
  }
}

/* User plus system CPU seconds of this process so far. */
static inline double process_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* A block of one row: column "id" (int64) holding `v`. */
static inline weir_block *id_block(int64_t v) {
  weir_builder *b;
  weir_block *blk = NULL;
  weir_builder_create(&b);
  weir_builder_add_column(b, "id", WEIR_TYPE_INT64);
  weir_builder_append_int64(b, 0, v);
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return blk;
}

#endif /* WEIR_BENCH_UTIL_H */
