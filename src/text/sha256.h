/* SHA-256 of a byte range. */
#ifndef WEIR_TEXT_SHA256_H
#define WEIR_TEXT_SHA256_H
#include <stddef.h>
#include <stdint.h>
void weir__sha256(const void *data, size_t len, uint8_t out[32]);
#endif
