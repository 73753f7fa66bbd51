/* Redaction of URLs inside messages (see redact.h): one pass over the
 * text, so it holds for messages from any layer, whoever formatted them. */
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

static int scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '.' || c == '-';
}

/* Where a URL ends inside a message: at white space, a quote or a bracket,
 * or a ':' or ';' that starts the message's own text (": ", ":12" of a
 * line number, "; "). */
static int url_end(const char *s) {
  char c = s[0];
  if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' ||
      c == '<' || c == '>' || c == ')' || c == ']')
    return 1;
  if ((c == ':' || c == ';' || c == ',') &&
      (s[1] == '\0' || s[1] == ' ' || (c == ':' && s[1] >= '0' && s[1] <= '9')))
    return 1;
  return 0;
}

size_t weir__uri_path_len(const char *uri) {
  const char *sep = strstr(uri, "://");
  if (!sep)
    return strlen(uri);
  for (const char *s = uri; s < sep; s++)
    if (!scheme_char(*s))
      return strlen(uri);
  return (size_t)(sep + 3 - uri) + strcspn(sep + 3, "?#");
}

void weir__redact_urls(char *msg, size_t cap) {
  if (!msg || cap == 0 || !strstr(msg, "://"))
    return;
  size_t n = strlen(msg);
  char *out = malloc(3 * n + 16); /* "?" -> "?...", at most twice a "://" */
  if (!out) {
    /* No room to rewrite it: a message cut before its first URL still
     * tells no secret. */
    *strstr(msg, "://") = '\0';
    return;
  }
  size_t o = 0;
  const char *s = msg;
  while (*s) {
    const char *sep = strstr(s, "://");
    if (!sep) {
      size_t k = strlen(s);
      memcpy(out + o, s, k);
      o += k;
      break;
    }
    /* Copy up to the scheme's start and the "://". */
    memcpy(out + o, s, (size_t)(sep + 3 - s));
    o += (size_t)(sep + 3 - s);
    const char *a = sep + 3;
    /* Userinfo: up to the last '@' before the path. The authority may
     * hold ':' (user:password, host:port), so only white space, quotes
     * and brackets end it. */
    const char *auth_end = a;
    while (*auth_end && !strchr("/?# \t\n\r\"'<>)]", *auth_end))
      auth_end++;
    const char *at = NULL;
    for (const char *c = a; c < auth_end; c++)
      if (*c == '@')
        at = c;
    const char *c = at ? at + 1 : a;
    /* Host and path are kept. */
    while (c < auth_end)
      out[o++] = *c++;
    while (!url_end(c) && *c != '?' && *c != '#')
      out[o++] = *c++;
    /* Query and fragment: replaced, unless already redacted. */
    while (*c == '?' || *c == '#') {
      char mark = *c;
      out[o++] = mark;
      memcpy(out + o, "...", 3);
      o += 3;
      c++;
      if (strncmp(c, "...", 3) == 0)
        c += 3;
      while (!url_end(c) && !(mark == '?' && *c == '#'))
        c++;
    }
    s = c;
  }
  out[o] = '\0';
  size_t k = o < cap - 1 ? o : cap - 1;
  memcpy(msg, out, k);
  msg[k] = '\0';
  free(out);
}
