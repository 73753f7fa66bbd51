/* Secrets out of messages: URLs in a text keep their scheme, host and
 * path; their userinfo (user:password@) is removed and their query string
 * and fragment (where presigned signatures and tokens live) become "?..."
 * and "#...". Every message weir logs or returns passes through it. */
#ifndef WEIR_CORE_REDACT_H
#define WEIR_CORE_REDACT_H

#include <stddef.h>

/* Redacts every URL in the NUL-terminated `msg` in place; `cap` is the
 * size of its buffer (the result is cut to fit it). */
void weir__redact_urls(char *msg, size_t cap);

/* The length of the path part of `uri`: for a URL ("scheme://...") up to
 * its query or fragment, for anything else all of it (a '?' is a legal
 * character of a local file name). Suffixes (.zst, .jsonl) are read
 * there. */
size_t weir__uri_path_len(const char *uri);

#endif
