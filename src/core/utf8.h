/* UTF-8 validation. */
#ifndef WEIR_CORE_UTF8_H
#define WEIR_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The byte offset of the first invalid UTF-8 sequence in s[0..len), or
 * `len` when all of it is valid. */
size_t weir__utf8_invalid_at(const char *s, size_t len);

#endif /* WEIR_CORE_UTF8_H */
