/* A spill store: a first-in, first-out queue of blocks kept on local disk
 * in the block file frame format, for operators that must hold more than
 * the memory budget (repartition, a union of unequal branches).
 *
 * Usage (executor):
 *   weir__spill *s;
 *   weir__spill_create(&s, NULL, err, sizeof err);   // $WEIR_SPILL_DIR,
 *                                                    // $TMPDIR or /tmp
 *   weir__spill_push(s, block);        // borrows block; caller may unref
 *   ...
 *   weir__spill_pop(s, &block);        // oldest first; WEIR_EOF if empty
 *   weir__spill_destroy(s);            // deletes the file
 *
 * The file is unlinked as soon as it is created, so a crash leaves nothing
 * behind; its space is reclaimed whenever the queue runs empty. Push and
 * pop may be called from different threads (a mutex guards the store). */
#ifndef WEIR_IO_SPILL_H
#define WEIR_IO_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "weir/block.h"

typedef struct weir__spill weir__spill;

/* `dir` NULL = $WEIR_SPILL_DIR, else $TMPDIR, else /tmp. */
int  weir__spill_create(weir__spill **out, const char *dir, char *err,
                        size_t errlen);
/* Writes `b` (borrowed) at the end of the queue. */
int  weir__spill_push(weir__spill *s, const weir_block *b);
/* Reads the oldest block back: WEIR_OK, WEIR_EOF when the queue is empty,
 * or an error (the message in weir__spill_errmsg). */
int  weir__spill_pop(weir__spill *s, weir_block **out);
size_t   weir__spill_count(const weir__spill *s);    /* blocks queued */
uint64_t weir__spill_disk_bytes(const weir__spill *s); /* bytes on disk now */
uint64_t weir__spill_mem_bytes(const weir__spill *s);  /* block bytes queued */
const char *weir__spill_errmsg(const weir__spill *s);
void weir__spill_destroy(weir__spill *s);             /* accepts NULL */

#endif /* WEIR_IO_SPILL_H */
