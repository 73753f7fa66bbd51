/* Rank and size in one process, and the refusal of WEIR_DIST=mpi by a
 * build that runs in one process only (see weir/dist.h). */
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "exec/exec_internal.h"
#include "weir/dist.h"
#include "weir/error.h"

int weir_dist_rank(void) { return 0; }
int weir_dist_size(void) { return 1; }

int weir__dist_check(void) {
  const char *want = getenv("WEIR_DIST");
  if (!want || !*want || !strcmp(want, "local") || !strcmp(want, "none"))
    return WEIR_OK;
  if (!strcmp(want, "mpi"))
    return weir__set_last_error(WEIR_ENOTSUP,
                                "weir_pipeline_create: WEIR_DIST=mpi asks for MPI ranks, and "
                                "this build of weir runs in one process only: every rank "
                                "would run the whole pipeline; unset WEIR_DIST");
  return weir__set_last_error(WEIR_EINVAL,
                              "weir_pipeline_create: WEIR_DIST=%s is not a distribution "
                              "(mpi, or unset for one process)", want);
}
