/* The JSON reader of the tokenizer loaders: a recursive-descent parser
 * into a flat node array (RFC 8259; \u escapes with surrogate pairs). */
#include "text/tokenizer/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  tj_doc *d;
  const char *s;
  size_t len, i;
  int depth;
} parser;

static int fail(parser *p, const char *what) {
  snprintf(p->d->err, sizeof p->d->err, "%s at byte %zu", what, p->i);
  return -1;
}

static uint32_t new_node(parser *p, int type) {
  tj_doc *d = p->d;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 1024;
    tj_node *nn = realloc(d->nodes, cap * sizeof *nn);
    if (!nn)
      return 0;
    d->nodes = nn;
    d->cap = cap;
  }
  memset(&d->nodes[d->n], 0, sizeof d->nodes[0]);
  d->nodes[d->n].type = type;
  return (uint32_t)d->n++;
}

static void skip_ws(parser *p) {
  while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\n' || p->s[p->i] == '\r' || p->s[p->i] == '\t'))
    p->i++;
}

static int hex4(parser *p, uint32_t *out) {
  if (p->i + 4 > p->len)
    return fail(p, "truncated \\u escape");
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->i++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return fail(p, "bad \\u escape");
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, uint32_t c) {
  if (c < 0x80) { o[0] = (char)c; return 1; }
  if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
  if (c < 0x10000) {
    o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* Unescapes the string at p->i (after its quote) into the string arena;
 * the arena is as large as the input, which bounds every unescaped form. */
static int parse_string(parser *p, const char **out, size_t *olen) {
  char *o = p->d->strs + p->d->strs_len, *start = o;
  for (;;) {
    if (p->i >= p->len)
      return fail(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->i++];
    if (c == '"')
      break;
    if (c < 0x20)
      return fail(p, "control character in string");
    if (c != '\\') {
      *o++ = (char)c;
      continue;
    }
    if (p->i >= p->len)
      return fail(p, "unterminated string");
    char e = p->s[p->i++];
    switch (e) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      uint32_t u;
      if (hex4(p, &u))
        return -1;
      if (u >= 0xD800 && u < 0xDC00 && p->i + 6 <= p->len && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
        size_t save = p->i;
        uint32_t lo;
        p->i += 2;
        if (hex4(p, &lo))
          return -1;
        if (lo >= 0xDC00 && lo < 0xE000)
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        else
          p->i = save;
      }
      if (u >= 0xD800 && u < 0xE000)
        u = 0xFFFD; /* a lone surrogate: what serde_json's lossy reading gives */
      o += put_utf8(o, u);
      break;
    }
    default:
      return fail(p, "bad escape");
    }
  }
  *o++ = 0;
  *out = start;
  *olen = (size_t)(o - start - 1);
  p->d->strs_len += (size_t)(o - start);
  return 0;
}

static int parse_value(parser *p, uint32_t *idx);

static int parse_container(parser *p, uint32_t self, int obj) {
  char close = obj ? '}' : ']';
  p->i++;
  skip_ws(p);
  uint32_t last = 0, count = 0;
  if (p->i < p->len && p->s[p->i] == close) {
    p->i++;
    return 0;
  }
  for (;;) {
    const char *key = NULL;
    size_t klen = 0;
    skip_ws(p);
    if (obj) {
      if (p->i >= p->len || p->s[p->i] != '"')
        return fail(p, "expected a key");
      p->i++;
      if (parse_string(p, &key, &klen))
        return -1;
      skip_ws(p);
      if (p->i >= p->len || p->s[p->i] != ':')
        return fail(p, "expected ':'");
      p->i++;
    }
    uint32_t child;
    if (parse_value(p, &child))
      return -1;
    tj_node *nodes = p->d->nodes;
    nodes[child].key = key;
    nodes[child].key_len = (uint32_t)klen;
    if (last)
      nodes[last].next = child;
    else
      nodes[self].first = child;
    last = child;
    count++;
    skip_ws(p);
    if (p->i >= p->len)
      return fail(p, "unterminated container");
    if (p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->s[p->i] == close) {
      p->i++;
      break;
    }
    return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  p->d->nodes[self].n = count;
  return 0;
}

static int parse_value(parser *p, uint32_t *idx) {
  skip_ws(p);
  if (p->i >= p->len)
    return fail(p, "unexpected end");
  char c = p->s[p->i];
  uint32_t self;
  if (c == '{' || c == '[') {
    if (++p->depth > 256)
      return fail(p, "nested too deep");
    if (!(self = new_node(p, c == '{' ? TJ_OBJ : TJ_ARR)))
      return -2;
    int rc = parse_container(p, self, c == '{');
    p->depth--;
    *idx = self;
    return rc;
  }
  if (c == '"') {
    if (!(self = new_node(p, TJ_STR)))
      return -2;
    p->i++;
    const char *s;
    size_t len;
    if (parse_string(p, &s, &len))
      return -1;
    p->d->nodes[self].s = s;
    p->d->nodes[self].len = len;
    *idx = self;
    return 0;
  }
  static const struct { const char *w; int t; } lits[] = {{"null", TJ_NULL}, {"true", TJ_TRUE}, {"false", TJ_FALSE}};
  for (size_t k = 0; k < 3; k++) {
    size_t wl = strlen(lits[k].w);
    if (p->len - p->i >= wl && memcmp(p->s + p->i, lits[k].w, wl) == 0) {
      if (!(self = new_node(p, lits[k].t)))
        return -2;
      p->i += wl;
      *idx = self;
      return 0;
    }
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char buf[64];
    size_t k = 0;
    while (p->i < p->len && k < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[p->i]))
      buf[k++] = p->s[p->i++];
    buf[k] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end)
      return fail(p, "bad number");
    if (!(self = new_node(p, TJ_NUM)))
      return -2;
    p->d->nodes[self].num = v;
    *idx = self;
    return 0;
  }
  return fail(p, "unexpected character");
}

int weir__tj_parse(tj_doc *doc, const char *text, size_t len) {
  memset(doc, 0, sizeof *doc);
  doc->strs = malloc(len + 1);
  if (!doc->strs)
    return -2;
  parser p = {doc, text, len, 0, 0};
  new_node(&p, TJ_NULL); /* index 0 stands for "none" */
  if (doc->n != 1)
    return -2;
  uint32_t root;
  int rc = parse_value(&p, &root);
  if (rc)
    return rc;
  skip_ws(&p);
  if (p.i != len)
    return fail(&p, "trailing characters");
  return 0;
}

void weir__tj_free(tj_doc *doc) {
  free(doc->nodes);
  free(doc->strs);
  memset(doc, 0, sizeof *doc);
}

const tj_node *weir__tj_get(const tj_doc *d, const tj_node *o, const char *key) {
  if (!o || o->type != TJ_OBJ)
    return NULL;
  size_t kl = strlen(key);
  for (const tj_node *c = weir__tj_child(d, o); c; c = weir__tj_next(d, c))
    if (c->key_len == kl && memcmp(c->key, key, kl) == 0)
      return c;
  return NULL;
}

int weir__tj_is_null(const tj_node *n) { return !n || n->type == TJ_NULL; }

const char *weir__tj_str(const tj_doc *d, const tj_node *o, const char *key, size_t *len) {
  const tj_node *n = weir__tj_get(d, o, key);
  if (!n || n->type != TJ_STR)
    return NULL;
  if (len)
    *len = n->len;
  return n->s;
}

int weir__tj_bool(const tj_doc *d, const tj_node *o, const char *key, int dflt) {
  const tj_node *n = weir__tj_get(d, o, key);
  if (!n || n->type == TJ_NULL)
    return dflt;
  return n->type == TJ_TRUE;
}
