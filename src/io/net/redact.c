/* Redaction of URLs for messages: userinfo and query strings (where
 * passwords and presigned signatures live) never reach a log or an error.
 * Needs no libcurl, so builds without it compile this file too (CMake's
 * weir_component_sources lists it). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "io/net/net.h"

char *weir__net_redact(const char *url) {
  const char *scheme_end = strstr(url, "://");
  const char *host = scheme_end ? scheme_end + 3 : url;
  const char *path = host + strcspn(host, "/?#");
  const char *at = NULL;
  for (const char *p = host; p < path; p++)
    if (*p == '@') at = p;              /* the last '@' ends the userinfo */
  const char *q = strpbrk(path, "?#");
  const char *from = at ? at + 1 : host;
  size_t hl = (size_t)(host - url);
  size_t rest = (size_t)((q ? q : path + strlen(path)) - from);
  char *out = malloc(hl + rest + 5);
  if (!out) return NULL;
  memcpy(out, url, hl);
  memcpy(out + hl, from, rest);
  strcpy(out + hl + rest, q && *q == '?' ? "?..." : "");
  return out;
}

