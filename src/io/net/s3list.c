/* S3 ListObjectsV2: paged requests (continuation tokens) and a small,
 * strict reader of the answer's XML (Key, Size, IsTruncated,
 * NextContinuationToken, with entity decoding). */
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

/* Decodes the five named XML entities and numeric ones into a malloc'd
 * UTF-8 string; NULL on a malformed entity. */
static char *xml_text(const char *s, size_t n) {
  char *out = malloc(n + 1), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n;) {
    if (s[i] != '&') {
      *o++ = s[i++];
      continue;
    }
    const char *semi = memchr(s + i, ';', n - i);
    if (!semi || semi - (s + i) > 12) goto bad;
    size_t el = (size_t)(semi - (s + i)) + 1;
    const char *ent = s + i;
    if (el == 5 && !memcmp(ent, "&amp;", 5)) *o++ = '&';
    else if (el == 4 && !memcmp(ent, "&lt;", 4)) *o++ = '<';
    else if (el == 4 && !memcmp(ent, "&gt;", 4)) *o++ = '>';
    else if (el == 6 && !memcmp(ent, "&quot;", 6)) *o++ = '"';
    else if (el == 6 && !memcmp(ent, "&apos;", 6)) *o++ = '\'';
    else if (el > 3 && ent[1] == '#') {
      char *end;
      unsigned long cp = ent[2] == 'x' || ent[2] == 'X'
                           ? strtoul(ent + 3, &end, 16)
                           : strtoul(ent + 2, &end, 10);
      if (end != semi || cp == 0 || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        goto bad;
      if (cp < 0x80) {
        *o++ = (char)cp;
      } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
      } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
      }
    } else {
      goto bad;
    }
    i += el;
  }
  *o = 0;
  return out;
bad:
  free(out);
  return NULL;
}

/* The raw text of the first <tag>...</tag> in [p, end) (its length in
 * *len, the end of the element in *after), or NULL when there is none. A
 * tag with attributes (<Key a="b">) and an empty <Tag/> are accepted. */
static const char *find_elem(const char *p, const char *end, const char *tag,
                             size_t *len, const char **after) {
  size_t tl = strlen(tag);
  for (const char *q = p; q + tl + 2 <= end; q++) {
    q = memchr(q, '<', (size_t)(end - q));
    if (!q) return NULL;
    if ((size_t)(end - q) < tl + 2 || memcmp(q + 1, tag, tl) != 0 ||
        (q[tl + 1] != '>' && q[tl + 1] != ' '))
      continue;
    const char *gt = memchr(q, '>', (size_t)(end - q));
    if (!gt) return NULL;
    if (gt[-1] == '/') {                     /* <Tag/>: empty */
      *len = 0;
      if (after) *after = gt + 1;
      return gt + 1;
    }
    const char *text = gt + 1;
    for (const char *c = text; c + tl + 3 <= end; c++) {
      c = memchr(c, '<', (size_t)(end - c));
      if (!c || (size_t)(end - c) < tl + 3) return NULL;
      if (c[1] == '/' && !memcmp(c + 2, tag, tl) && c[2 + tl] == '>') {
        *len = (size_t)(c - text);
        if (after) *after = c + 3 + tl;
        return text;
      }
    }
    return NULL;
  }
  return NULL;
}

char *weir__xml_find_text(const char *xml, size_t len, const char *tag) {
  size_t n;
  const char *t = xml ? find_elem(xml, xml + len, tag, &n, NULL) : NULL;
  return t ? xml_text(t, n) : NULL;
}

typedef struct objvec {
  weir__object *v;
  size_t n, cap;
} objvec;

static int push_obj(objvec *ov, char *uri, uint64_t size) {
  if (ov->n == ov->cap) {
    size_t cap = ov->cap ? ov->cap * 2 : 64;
    weir__object *v = realloc(ov->v, cap * sizeof *v);
    if (!v) return WEIR_ENOMEM;
    ov->v = v;
    ov->cap = cap;
  }
  ov->v[ov->n].uri = uri;
  ov->v[ov->n].size = size;
  ov->n++;
  return WEIR_OK;
}

/* Reads one page into `ov`; sets *token to the next continuation token
 * (malloc'd) or NULL on the last page. */
static int parse_page(const char *xml, size_t len, const weir__s3_target *t,
                      objvec *ov, char **token, char *err, size_t errlen,
                      const char *shown) {
  const char *end = xml + len, *p = xml;
  *token = NULL;
  size_t n;
  if (!find_elem(xml, end, "ListBucketResult", &n, NULL)) {
    snprintf(err, errlen, "GET %s: the listing is not a ListBucketResult",
             shown);
    return WEIR_EFORMAT;
  }
  const char *after;
  const char *c;
  while ((c = find_elem(p, end, "Contents", &n, &after))) {
    size_t kl, sl;
    const char *k = find_elem(c, c + n, "Key", &kl, NULL);
    const char *s = find_elem(c, c + n, "Size", &sl, NULL);
    char *key = k ? xml_text(k, kl) : NULL;
    char *num = s ? xml_text(s, sl) : NULL;
    char *endp = NULL;
    unsigned long long size = num ? strtoull(num, &endp, 10) : 0;
    int ok = key && num && endp != num && *endp == 0;
    free(num);
    if (!ok) {
      free(key);
      snprintf(err, errlen, "GET %s: malformed <Contents> in the listing",
               shown);
      return WEIR_EFORMAT;
    }
    char *uri = NULL;
    int rc = weir__net_appendf(&uri, "s3://%s/%s", t->bucket, key);
    free(key);
    if (rc == WEIR_OK) rc = push_obj(ov, uri, size);
    if (rc != WEIR_OK) {
      free(uri);
      snprintf(err, errlen, "out of memory");
      return rc;
    }
    p = after;
  }
  size_t tl;
  const char *tr = find_elem(xml, end, "IsTruncated", &tl, NULL);
  if (tr && tl == 4 && !memcmp(tr, "true", 4)) {
    const char *tok = find_elem(xml, end, "NextContinuationToken", &tl, NULL);
    *token = tok ? xml_text(tok, tl) : NULL;
    if (!*token || !**token) {
      free(*token);
      *token = NULL;
      snprintf(err, errlen, "GET %s: truncated listing without a usable "
               "NextContinuationToken", shown);
      return WEIR_EFORMAT;
    }
  }
  return WEIR_OK;
}

static int cmp_obj(const void *a, const void *b) {
  return strcmp(((const weir__object *)a)->uri,
                ((const weir__object *)b)->uri);
}

int weir__s3_list(const weir__s3_target *t, const char *prefix,
                  const weir__net_options *o, weir__object **objs,
                  size_t *n, char *err, size_t errlen) {
  objvec ov = { 0 };
  char *token = NULL;
  int rc = WEIR_OK;
  char *shown = NULL;
  weir__net_appendf(&shown, "s3://%s/%s", t->bucket, prefix);
  do {
    /* Query parameters in sorted order and fully encoded: that is the
     * canonical form SigV4 signs. */
    char *url = NULL;
    rc = weir__net_appendf(&url, "%s?", t->base);
    if (rc == WEIR_OK && token) {
      rc = weir__net_appendf(&url, "continuation-token=");
      if (rc == WEIR_OK) rc = weir__net_append_encoded(&url, token, 0);
      if (rc == WEIR_OK) rc = weir__net_appendf(&url, "&");
    }
    if (rc == WEIR_OK) rc = weir__net_appendf(&url, "list-type=2");
    if (rc == WEIR_OK && o && o->list_page_size > 0)
      rc = weir__net_appendf(&url, "&max-keys=%d", o->list_page_size);
    if (rc == WEIR_OK) rc = weir__net_appendf(&url, "&prefix=");
    if (rc == WEIR_OK) rc = weir__net_append_encoded(&url, prefix, 0);
    weir__net_membuf *m = weir__net_membuf_new(WEIR__NET_GET, o);
    if (rc != WEIR_OK || !m || !shown) {
      free(url);
      if (m) weir__net_req_release(&m->rq);
      snprintf(err, errlen, "out of memory");
      rc = WEIR_ENOMEM;
      break;
    }
    rc = weir__s3_req_setup(&m->rq, t, url, shown);
    if (rc == WEIR_OK) rc = weir__net_perform(&m->rq);
    if (rc != WEIR_OK) {
      weir__net_copy_err(&m->rq, err, errlen);
      if (rc == WEIR_ENOMEM || m->oom) snprintf(err, errlen, "out of memory");
      /* A missing bucket is "not found"; so is a missing prefix, but that
       * one gives an empty listing rather than an error. */
    } else {
      free(token);
      token = NULL;
      rc = parse_page(m->data ? m->data : "", m->len, t, &ov, &token, err,
                      errlen, shown);
    }
    weir__net_req_release(&m->rq);
  } while (rc == WEIR_OK && token);
  free(token);
  free(shown);
  if (rc != WEIR_OK) {
    for (size_t i = 0; i < ov.n; i++) free(ov.v[i].uri);
    free(ov.v);
    return rc;
  }
  if (ov.n > 1) qsort(ov.v, ov.n, sizeof *ov.v, cmp_obj);
  *objs = ov.v;
  *n = ov.n;
  return WEIR_OK;
}
