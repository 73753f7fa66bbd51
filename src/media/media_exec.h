/* What the media component needs from the executor beyond the public API. */
#ifndef WEIR_MEDIA_EXEC_H
#define WEIR_MEDIA_EXEC_H

#include "exec/exec_internal.h"

/* Frees `arg` with `fn` when the pipeline that owns `op` is destroyed, so
 * an operator's configuration lives exactly as long as the operator. */
void weir__op_set_cleanup(weir_op *op, void (*fn)(void *), void *arg);

#endif /* WEIR_MEDIA_EXEC_H */
