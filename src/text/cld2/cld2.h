/* Language detection with CLD2 (libcld2), behind a C interface so that
 * only cld2.cc is C++; builds without libcld2 compile absent.c. */
#ifndef WEIR_TEXT_CLD2_H
#define WEIR_TEXT_CLD2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build has CLD2. */
int weir__cld2_available(void);
/* The three most likely languages of s[0..len) (UTF-8 plain text): their
 * ISO 639-1 codes (static strings; "un" for unknown) and the percent of
 * the text in each. WEIR_ENOTSUP without CLD2. */
int weir__cld2_detect(const char *s, size_t len, const char *codes[3], int percent[3]);

#ifdef __cplusplus
}
#endif

#endif /* WEIR_TEXT_CLD2_H */
