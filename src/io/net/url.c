/* URLs for the network back ends: percent-encoding, s3:// URIs resolved
 * against the endpoint, region and credentials from the options or the
 * AWS_* environment, and request setup for both schemes. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "io/net/net_internal.h"

void weir__net_options_from_config(weir__net_options *o,
                                   const weir__io_config *cfg) {
  memset(o, 0, sizeof *o);
  if (!cfg) return;
  o->s3_endpoint = cfg->s3_endpoint;
  o->s3_region = cfg->s3_region;
  o->s3_access_key = cfg->s3_access_key;
  o->s3_secret_key = cfg->s3_secret_key;
  o->max_requests = cfg->max_requests;
  o->max_retries = cfg->max_retries;
  o->connect_timeout = cfg->connect_timeout;
  o->first_byte_timeout = cfg->first_byte_timeout;
  o->stall_seconds = cfg->low_speed_seconds;
  o->low_speed_bytes = cfg->low_speed_bytes;
}

int weir__net_appendf(char **dst, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return WEIR_EINVAL;
  size_t old = *dst ? strlen(*dst) : 0;
  char *s = realloc(*dst, old + (size_t)n + 1);
  if (!s) return WEIR_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(s + old, (size_t)n + 1, fmt, ap);
  va_end(ap);
  *dst = s;
  return WEIR_OK;
}

int weir__net_append_encoded(char **dst, const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  size_t old = *dst ? strlen(*dst) : 0, len = strlen(s);
  char *out = realloc(*dst, old + 3 * len + 1);
  if (!out) return WEIR_ENOMEM;
  char *p = out + old;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    int keep = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
               (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
               *c == '_' || *c == '~' || (keep_slash && *c == '/');
    if (keep) {
      *p++ = (char)*c;
    } else {
      *p++ = '%';
      *p++ = hex[*c >> 4];
      *p++ = hex[*c & 15];
    }
  }
  *p = 0;
  *dst = out;
  return WEIR_OK;
}

/* ---- S3 --------------------------------------------------------------- */

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

int weir__s3_target_parse(weir__s3_target *t, const char *uri,
                          const weir__net_options *o, char *err,
                          size_t errlen) {
  memset(t, 0, sizeof *t);
  if (strncmp(uri, "s3://", 5) != 0) {
    snprintf(err, errlen, "%s: not an s3:// URI", uri);
    return WEIR_EINVAL;
  }
  const char *b = uri + 5;
  size_t blen = strcspn(b, "/");
  if (blen == 0) {
    snprintf(err, errlen, "%s: no bucket in the s3:// URI", uri);
    return WEIR_EINVAL;
  }
  const char *key = b[blen] == '/' ? b + blen + 1 : "";
  t->bucket = strndup(b, blen);
  t->key = strdup(key);

  const char *endpoint = o && o->s3_endpoint ? o->s3_endpoint : NULL;
  if (!endpoint) endpoint = env("AWS_ENDPOINT_URL_S3");
  if (!endpoint) endpoint = env("AWS_ENDPOINT_URL");
  const char *region = o && o->s3_region ? o->s3_region : NULL;
  if (!region) region = env("AWS_REGION");
  if (!region) region = env("AWS_DEFAULT_REGION");
  if (!region) region = "us-east-1";
  t->region = strdup(region);
  t->access_key = o && o->s3_access_key ? o->s3_access_key
                                        : env("AWS_ACCESS_KEY_ID");
  t->secret_key = o && o->s3_secret_key ? o->s3_secret_key
                                        : env("AWS_SECRET_ACCESS_KEY");
  t->session_token = o && o->s3_session_token ? o->s3_session_token
                                              : env("AWS_SESSION_TOKEN");
  t->ca_file = o && o->ca_file ? o->ca_file : env("AWS_CA_BUNDLE");
  int rc = WEIR_OK;
  if (endpoint) {
    /* Custom endpoints (MinIO, moto, Ceph) get path-style addressing:
     * the bucket is the first path segment. */
    size_t el = strlen(endpoint);
    while (el > 0 && endpoint[el - 1] == '/') el--;
    rc = weir__net_appendf(&t->base, "%.*s/", (int)el, endpoint);
    if (rc == WEIR_OK) rc = weir__net_append_encoded(&t->base, t->bucket, 0);
  } else if (strchr(t->bucket, '.')) {
    /* A dotted bucket name does not match the wildcard certificate of
     * virtual-hosted addressing: use the path style. */
    rc = weir__net_appendf(&t->base, "https://s3.%s.amazonaws.com/%s",
                           region, t->bucket);
  } else {
    rc = weir__net_appendf(&t->base, "https://%s.s3.%s.amazonaws.com",
                           t->bucket, region);
  }
  if (rc != WEIR_OK || !t->bucket || !t->key || !t->region) {
    weir__s3_target_clear(t);
    snprintf(err, errlen, "%s: out of memory", uri);
    return WEIR_ENOMEM;
  }
  return WEIR_OK;
}

void weir__s3_target_clear(weir__s3_target *t) {
  free(t->bucket);
  free(t->key);
  free(t->base);
  free(t->region);
  memset(t, 0, sizeof *t);
}

char *weir__s3_object_url(const weir__s3_target *t, const char *key) {
  char *url = NULL;
  if (weir__net_appendf(&url, "%s/", t->base) != WEIR_OK ||
      weir__net_append_encoded(&url, key, 1) != WEIR_OK) {
    free(url);
    return NULL;
  }
  return url;
}

int weir__s3_req_setup(weir__net_req *rq, const weir__s3_target *t,
                       char *url, const char *shown_uri) {
  rq->url = url;
  rq->shown = strdup(shown_uri);
  if (!rq->url || !rq->shown) return WEIR_ENOMEM;
  if (t->ca_file) {
    free(rq->cainfo);
    rq->cainfo = strdup(t->ca_file);
    if (!rq->cainfo) return WEIR_ENOMEM;
  }
  if (t->access_key && t->secret_key) {
    char *sig = NULL;
    if (weir__net_appendf(&sig, "aws:amz:%s:s3", t->region) != WEIR_OK)
      return WEIR_ENOMEM;
    rq->sigv4 = sig;
    rq->user = strdup(t->access_key);
    rq->pass = strdup(t->secret_key);
    if (!rq->user || !rq->pass) return WEIR_ENOMEM;
    /* S3 requires this header, and libcurl signs its value as the payload
     * hash; an unsigned payload lets uploads stream from a file. */
    struct curl_slist *l0 = curl_slist_append(
        rq->headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!l0) return WEIR_ENOMEM;
    rq->headers = l0;
    if (t->session_token) {
      char *h = NULL;
      if (weir__net_appendf(&h, "x-amz-security-token: %s",
                            t->session_token) != WEIR_OK)
        return WEIR_ENOMEM;
      struct curl_slist *l = curl_slist_append(rq->headers, h);
      memset(h, 0, strlen(h));
      free(h);
      if (!l) return WEIR_ENOMEM;
      rq->headers = l;
    }
  }
  return WEIR_OK;
}

int weir__http_req_setup(weir__net_req *rq, const char *url) {
  rq->url = strdup(url);
  rq->shown = weir__net_redact(url);
  rq->follow = 1;
  return rq->url && rq->shown ? WEIR_OK : WEIR_ENOMEM;
}

int weir__net_req_for_uri(weir__net_req *rq, const char *uri,
                          const weir__net_options *o, char *err,
                          size_t errlen) {
  if (strncmp(uri, "s3://", 5) != 0) {
    if (weir__http_req_setup(rq, uri) != WEIR_OK) {
      snprintf(err, errlen, "out of memory");
      return WEIR_ENOMEM;
    }
    return WEIR_OK;
  }
  weir__s3_target t;
  int rc = weir__s3_target_parse(&t, uri, o, err, errlen);
  if (rc != WEIR_OK) return rc;
  if (!t.key[0]) {
    snprintf(err, errlen, "%s: no object key after the bucket", uri);
    weir__s3_target_clear(&t);
    return WEIR_EINVAL;
  }
  rc = weir__s3_req_setup(rq, &t, weir__s3_object_url(&t, t.key), uri);
  weir__s3_target_clear(&t);
  if (rc != WEIR_OK) snprintf(err, errlen, "%s: out of memory", uri);
  return rc;
}
