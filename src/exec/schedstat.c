/* How long a thread waited in the run queue for a CPU, from Linux's
 * per-thread schedstat: the part of a worker's demand that a loaded machine
 * hides from its CPU clock. */
#include <stdio.h>

#include "exec/exec_internal.h"

#if defined(__linux__)
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int weir__thread_id(void) { return (int)syscall(SYS_gettid); }

double weir__thread_runq(int tid) {
  char path[64];
  if (tid > 0)
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
  else
    snprintf(path, sizeof path, "/proc/thread-self/schedstat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0; /* no schedstat in this kernel, or the thread is gone */
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* "<ns on the CPU> <ns waiting to run> <timeslices>" */
  unsigned long long on_cpu = 0, waited = 0;
  if (sscanf(buf, "%llu %llu", &on_cpu, &waited) != 2)
    return 0;
  return (double)waited * 1e-9;
}
#else
int weir__thread_id(void) { return 0; }
double weir__thread_runq(int tid) {
  (void)tid;
  return 0;
}
#endif
