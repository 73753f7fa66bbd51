/* The words of a block's documents, computed once and kept with the text
 * column's bytes, so every quality operator after the first reuses them
 * (DataTrove caches its tokenisation the same way, with an LRU of 5). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "text/text_internal.h"
#include "weir/error.h"

typedef struct cache_entry {
  const int64_t *offsets;   /* the column these words belong to */
  size_t nrows;
  weir__doc_words *docs;
  struct cache_entry *next;
} cache_entry;

typedef struct words_cache {
  pthread_mutex_t mu;
  cache_entry *head;
} words_cache;

static void entry_free(cache_entry *e) {
  for (size_t i = 0; i < e->nrows; i++)
    free(e->docs[i].w);
  free(e->docs);
  free(e);
}

static void cache_free(void *p) {
  words_cache *c = p;
  while (c->head) {
    cache_entry *e = c->head;
    c->head = e->next;
    entry_free(e);
  }
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static words_cache *cache_of(weir__buffer *buf) {
  words_cache *c = weir__buffer_attachment(buf);
  if (c)
    return c;
  c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  pthread_mutex_init(&c->mu, NULL);
  words_cache *now = weir__buffer_attach(buf, c, cache_free);
  if (now != c)
    cache_free(c);
  return now;
}

static const weir__doc_words *lookup(words_cache *c, const int64_t *offsets, size_t nrows) {
  const weir__doc_words *found = NULL;
  pthread_mutex_lock(&c->mu);
  for (cache_entry *e = c->head; e; e = e->next)
    if (e->offsets == offsets && e->nrows == nrows) {
      found = e->docs;
      break;
    }
  pthread_mutex_unlock(&c->mu);
  return found;
}

/* Puts `e` in, unless another thread did the same column first; returns
 * the docs that stay. */
static const weir__doc_words *insert(words_cache *c, cache_entry *e) {
  pthread_mutex_lock(&c->mu);
  for (cache_entry *o = c->head; o; o = o->next)
    if (o->offsets == e->offsets && o->nrows == e->nrows) {
      pthread_mutex_unlock(&c->mu);
      entry_free(e);
      return o->docs;
    }
  e->next = c->head;
  c->head = e;
  pthread_mutex_unlock(&c->mu);
  return e->docs;
}

int weir__block_words(const weir_block *b, size_t col, weir__tokenizer *t,
                      const weir__doc_words **words) {
  const weir__column *c = &b->cols[col];
  words_cache *cache = cache_of(c->data_buf);
  if (!cache)
    return WEIR_ENOMEM;
  const weir__doc_words *got = lookup(cache, c->offsets, c->length);
  if (got) {
    *words = got;
    return WEIR_OK;
  }
  cache_entry *e = calloc(1, sizeof *e);
  if (!e)
    return WEIR_ENOMEM;
  e->offsets = c->offsets;
  e->nrows = c->length;
  e->docs = calloc(c->length ? c->length : 1, sizeof *e->docs);
  if (!e->docs) {
    free(e);
    return WEIR_ENOMEM;
  }
  for (size_t i = 0; i < c->length; i++) {
    if (c->validity && !weir__bit_get(c->validity, i))
      continue;
    const char *s = (const char *)c->data + c->offsets[i];
    size_t len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
    int rc = weir__tokenize(t, s, len, &e->docs[i]);
    if (rc) {
      entry_free(e);
      return rc;
    }
  }
  *words = insert(cache, e);
  return WEIR_OK;
}

/* Called when a filter copied the kept rows of `src` into `dst`: the words
 * of those rows go with them, so the next operator does not tokenise
 * again. Best effort: out of memory only loses the reuse. */
void weir__words_carry(const weir_block *src, const weir_block *dst, size_t col,
                       const uint8_t *keep) {
  const weir__column *sc = &src->cols[col], *dc = &dst->cols[col];
  words_cache *scache = weir__buffer_attachment(sc->data_buf);
  if (!scache || sc->data_buf == dc->data_buf)
    return;
  const weir__doc_words *docs = lookup(scache, sc->offsets, sc->length);
  if (!docs)
    return;
  words_cache *dcache = cache_of(dc->data_buf);
  if (!dcache)
    return;
  cache_entry *e = calloc(1, sizeof *e);
  if (!e)
    return;
  e->offsets = dc->offsets;
  e->nrows = dc->length;
  e->docs = calloc(dc->length ? dc->length : 1, sizeof *e->docs);
  if (!e->docs) {
    free(e);
    return;
  }
  size_t k = 0;
  for (size_t i = 0; i < sc->length && k < dc->length; i++) {
    if (!keep[i])
      continue;
    const weir__doc_words *d = &docs[i];
    if (d->n) {
      e->docs[k].w = malloc(d->n * sizeof *d->w);
      if (!e->docs[k].w) {
        e->nrows = k;
        entry_free(e);
        return;
      }
      memcpy(e->docs[k].w, d->w, d->n * sizeof *d->w);
      e->docs[k].n = d->n;
    }
    k++;
  }
  insert(dcache, e);
}
