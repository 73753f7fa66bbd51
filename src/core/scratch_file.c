/* Scratch files (see scratch_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/scratch_file.h"

const char *weir__scratch_dir(const char *dir) {
  const char *from[] = {dir, getenv("WEIR_SPILL_DIR"), getenv("TMPDIR")};
  for (size_t i = 0; i < sizeof from / sizeof *from; i++)
    if (from[i] && *from[i])
      return from[i];
  return "/tmp";
}

int weir__scratch_file(const char *dir, const char *prefix, char *path, size_t pathlen) {
  int n = snprintf(path, pathlen, "%s/%s-XXXXXX", weir__scratch_dir(dir), prefix);
  if (n < 0 || (size_t)n >= pathlen) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0)
    unlink(path);
  return fd;
}
