/* Scratch files: where weir puts what it spills (blocks, dedup key runs,
 * MinHash band keys), chosen the same way by every component. */
#ifndef WEIR_CORE_SCRATCH_FILE_H
#define WEIR_CORE_SCRATCH_FILE_H

#include <stddef.h>

/* The folder: `dir` when given, else $WEIR_SPILL_DIR, else $TMPDIR, else
 * /tmp. An empty string counts as not given. */
const char *weir__scratch_dir(const char *dir);

/* A new scratch file in weir__scratch_dir(dir), created under the name
 * "<prefix>-XXXXXX" and unlinked at once, so a crash leaves nothing
 * behind. Its descriptor (close-on-exec), or -1 with errno set. `path`
 * (`pathlen` bytes) receives the name, for messages. */
int weir__scratch_file(const char *dir, const char *prefix, char *path, size_t pathlen);

#endif
