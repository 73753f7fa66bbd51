/* A fastText model reader and evaluator in C: the .bin / .ftz formats
 * (version 12: args, dictionary, dense or product-quantized matrices) and
 * supervised prediction as fastText's own code does it, in single
 * precision, so that probabilities match the `fasttext` package's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_internal.h"
#include "text/text_internal.h"
#include "weir/error.h"

#define FT_MAGIC 793712314
enum { LOSS_HS = 1, LOSS_NS = 2, LOSS_SOFTMAX = 3, LOSS_OVA = 4 };
enum { MODEL_SUP = 3 };
enum { ENTRY_WORD = 0, ENTRY_LABEL = 1 };
#define SIGMOID_TABLE_SIZE 512
#define MAX_SIGMOID 8

typedef struct pq {
  int32_t dim, nsubq, dsub, lastdsub;
  float *centroids;        /* dim * 256 */
} pq;

typedef struct matrix {
  int quant;
  int64_t m, n;
  float *data;             /* dense */
  int qnorm;
  uint8_t *codes;          /* quantized: m * nsubq */
  pq pq, npq;
  uint8_t *norm_codes;
} matrix;

typedef struct entry {
  char *word;
  int64_t count;
  int8_t type;
  int32_t *subwords;       /* words: the word itself and its char n-grams */
  int32_t nsub;
} entry;

typedef struct tree_node {
  int32_t parent, left, right;
  int64_t count;
} tree_node;

struct weir_fasttext {
  int32_t dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn,
      lr_update_rate;
  double t;
  int32_t size, nwords, nlabels;
  int64_t ntokens, pruneidx_size;
  entry *words;
  int32_t *table;          /* open addressing: word -> index, -1 empty */
  uint32_t table_size;
  int64_t *prune_from, *prune_to; /* sorted by from */
  matrix input, output;
  tree_node *tree;
  float sigmoid_table[SIGMOID_TABLE_SIZE + 1];
};

/* ---- Reading ------------------------------------------------------------- */

typedef struct reader {
  FILE *f;
  int err;
} reader;

static void rd(reader *r, void *p, size_t n) {
  if (!r->err && fread(p, 1, n, r->f) != n)
    r->err = 1;
}

static int32_t rd_i32(reader *r) {
  int32_t v = 0;
  rd(r, &v, 4);
  return v;
}

static int64_t rd_i64(reader *r) {
  int64_t v = 0;
  rd(r, &v, 8);
  return v;
}

static int pq_load(reader *r, pq *q) {
  q->dim = rd_i32(r);
  q->nsubq = rd_i32(r);
  q->dsub = rd_i32(r);
  q->lastdsub = rd_i32(r);
  if (r->err || q->dim <= 0 || q->dim > (1 << 20) || q->nsubq <= 0 || q->dsub <= 0 ||
      q->lastdsub <= 0)
    return WEIR_EFORMAT;
  q->centroids = malloc((size_t)q->dim * 256 * sizeof(float));
  if (!q->centroids)
    return WEIR_ENOMEM;
  rd(r, q->centroids, (size_t)q->dim * 256 * sizeof(float));
  return r->err ? WEIR_EFORMAT : WEIR_OK;
}

static int matrix_load(reader *r, matrix *mx, int quant) {
  mx->quant = quant;
  if (!quant) {
    mx->m = rd_i64(r);
    mx->n = rd_i64(r);
    if (r->err || mx->m < 0 || mx->n <= 0 || mx->n > (1 << 20) || mx->m > ((int64_t)1 << 36) / mx->n)
      return WEIR_EFORMAT;
    mx->data = malloc((size_t)(mx->m * mx->n) * sizeof(float) + 1);
    if (!mx->data)
      return WEIR_ENOMEM;
    rd(r, mx->data, (size_t)(mx->m * mx->n) * sizeof(float));
    return r->err ? WEIR_EFORMAT : WEIR_OK;
  }
  uint8_t qn = 0;
  rd(r, &qn, 1);
  mx->qnorm = qn != 0;
  mx->m = rd_i64(r);
  mx->n = rd_i64(r);
  int32_t codesize = rd_i32(r);
  if (r->err || mx->m < 0 || mx->n <= 0 || codesize < 0)
    return WEIR_EFORMAT;
  mx->codes = malloc((size_t)codesize + 1);
  if (!mx->codes)
    return WEIR_ENOMEM;
  rd(r, mx->codes, (size_t)codesize);
  int rc = pq_load(r, &mx->pq);
  if (rc)
    return rc;
  if ((int64_t)codesize != mx->m * mx->pq.nsubq || mx->pq.dim != mx->n)
    return WEIR_EFORMAT;
  if (mx->qnorm) {
    mx->norm_codes = malloc((size_t)mx->m + 1);
    if (!mx->norm_codes)
      return WEIR_ENOMEM;
    rd(r, mx->norm_codes, (size_t)mx->m);
    if ((rc = pq_load(r, &mx->npq)))
      return rc;
  }
  return r->err ? WEIR_EFORMAT : WEIR_OK;
}

static void matrix_free(matrix *mx) {
  free(mx->data);
  free(mx->codes);
  free(mx->pq.centroids);
  free(mx->npq.centroids);
  free(mx->norm_codes);
}

static const float *centroid(const pq *q, int m, uint8_t i) {
  if (m == q->nsubq - 1)
    return &q->centroids[(size_t)m * 256 * q->dsub + (size_t)i * q->lastdsub];
  return &q->centroids[((size_t)m * 256 + i) * q->dsub];
}

static void add_row(const matrix *mx, float *x, int64_t i) {
  if (!mx->quant) {
    const float *row = mx->data + i * mx->n;
    for (int64_t j = 0; j < mx->n; j++)
      x[j] += row[j];
    return;
  }
  float norm = 1;
  if (mx->qnorm)
    norm = centroid(&mx->npq, 0, mx->norm_codes[i])[0];
  const uint8_t *code = mx->codes + (size_t)mx->pq.nsubq * (size_t)i;
  int d = mx->pq.dsub;
  for (int m = 0; m < mx->pq.nsubq; m++) {
    const float *c = centroid(&mx->pq, m, code[m]);
    if (m == mx->pq.nsubq - 1)
      d = mx->pq.lastdsub;
    for (int n = 0; n < d; n++)
      x[m * mx->pq.dsub + n] += norm * c[n];
  }
}

static float dot_row(const matrix *mx, const float *x, int64_t i) {
  float res = 0;
  if (!mx->quant) {
    const float *row = mx->data + i * mx->n;
    for (int64_t j = 0; j < mx->n; j++)
      res += row[j] * x[j];
    return res;
  }
  float norm = 1;
  if (mx->qnorm)
    norm = centroid(&mx->npq, 0, mx->norm_codes[i])[0];
  const uint8_t *code = mx->codes + (size_t)mx->pq.nsubq * (size_t)i;
  int d = mx->pq.dsub;
  for (int m = 0; m < mx->pq.nsubq; m++) {
    const float *c = centroid(&mx->pq, m, code[m]);
    if (m == mx->pq.nsubq - 1)
      d = mx->pq.lastdsub;
    for (int n = 0; n < d; n++)
      res += x[m * mx->pq.dsub + n] * c[n];
  }
  return res * norm;
}

/* ---- The dictionary -------------------------------------------------------- */

static uint32_t ft_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (uint32_t)(int32_t)(int8_t)s[i];
    h *= 16777619u;
  }
  return h;
}

static int32_t find_word(const weir_fasttext *m, const char *w, size_t n, uint32_t h) {
  uint32_t i = h % m->table_size;
  while (m->table[i] != -1) {
    const entry *e = &m->words[m->table[i]];
    if (strlen(e->word) == n && memcmp(e->word, w, n) == 0)
      return m->table[i];
    i = (i + 1) % m->table_size;
  }
  return -1;
}

typedef struct ids {
  int32_t *v;
  size_t n, cap;
} ids;

static int ids_push(ids *x, int32_t v) {
  if (x->n == x->cap) {
    size_t nc = x->cap ? x->cap * 2 : 64;
    void *p = realloc(x->v, nc * sizeof *x->v);
    if (!p)
      return WEIR_ENOMEM;
    x->v = p;
    x->cap = nc;
  }
  x->v[x->n++] = v;
  return WEIR_OK;
}

static int push_hash(const weir_fasttext *m, ids *out, int32_t id) {
  if (m->pruneidx_size == 0 || id < 0)
    return WEIR_OK;
  if (m->pruneidx_size > 0) {
    size_t lo = 0, hi = (size_t)m->pruneidx_size;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (m->prune_from[mid] < id)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == (size_t)m->pruneidx_size || m->prune_from[lo] != id)
      return WEIR_OK;
    id = (int32_t)m->prune_to[lo];
  }
  return ids_push(out, m->nwords + id);
}

/* The char n-grams of "<" word ">" (byte string w[0..n)), by UTF-8 chars. */
static int subwords(const weir_fasttext *m, const char *w, size_t n, ids *out) {
  for (size_t i = 0; i < n; i++) {
    if (((unsigned char)w[i] & 0xC0) == 0x80)
      continue;
    size_t j = i;
    for (int len = 1; j < n && len <= m->maxn; len++) {
      j++;
      while (j < n && ((unsigned char)w[j] & 0xC0) == 0x80)
        j++;
      if (len >= m->minn && !(len == 1 && (i == 0 || j == n))) {
        int32_t h = (int32_t)(ft_hash(w + i, j - i) % (uint32_t)m->bucket);
        int rc = push_hash(m, out, h);
        if (rc)
          return rc;
      }
    }
  }
  return WEIR_OK;
}

static int init_subwords(weir_fasttext *m) {
  char *buf = NULL;
  size_t cap = 0;
  for (int32_t i = 0; i < m->size; i++) {
    entry *e = &m->words[i];
    ids x = {0};
    if (ids_push(&x, i))
      return WEIR_ENOMEM;
    if (strcmp(e->word, "</s>") != 0 && m->maxn > 0) {
      size_t n = strlen(e->word) + 2;
      if (n + 1 > cap) {
        cap = n * 2 + 16;
        char *nb = realloc(buf, cap);
        if (!nb) {
          free(x.v);
          free(buf);
          return WEIR_ENOMEM;
        }
        buf = nb;
      }
      buf[0] = '<';
      memcpy(buf + 1, e->word, n - 2);
      buf[n - 1] = '>';
      if (subwords(m, buf, n, &x)) {
        free(x.v);
        free(buf);
        return WEIR_ENOMEM;
      }
    }
    e->subwords = x.v;
    e->nsub = (int32_t)x.n;
  }
  free(buf);
  return WEIR_OK;
}

static int build_tree(weir_fasttext *m) {
  int32_t osz = m->nlabels;
  m->tree = calloc((size_t)(2 * osz - 1), sizeof *m->tree);
  if (!m->tree)
    return WEIR_ENOMEM;
  for (int32_t i = 0; i < 2 * osz - 1; i++) {
    m->tree[i].parent = m->tree[i].left = m->tree[i].right = -1;
    m->tree[i].count = (int64_t)1e15;
  }
  for (int32_t i = 0; i < osz; i++)
    m->tree[i].count = m->words[m->nwords + i].count;
  int32_t leaf = osz - 1, node = osz;
  for (int32_t i = osz; i < 2 * osz - 1; i++) {
    int32_t mini[2] = {0, 0};
    for (int j = 0; j < 2; j++) {
      if (leaf >= 0 && m->tree[leaf].count < m->tree[node].count)
        mini[j] = leaf--;
      else
        mini[j] = node++;
    }
    m->tree[i].left = mini[0];
    m->tree[i].right = mini[1];
    m->tree[i].count = m->tree[mini[0]].count + m->tree[mini[1]].count;
    m->tree[mini[0]].parent = i;
    m->tree[mini[1]].parent = i;
  }
  return WEIR_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int load(weir_fasttext *m, reader *r, const char *path) {
  int32_t magic = rd_i32(r), version = rd_i32(r);
  if (r->err || magic != FT_MAGIC || version > 12)
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s is not a fastText model "
                                "(magic %d, version %d)", path, magic, version);
  int32_t *a[] = {&m->dim, &m->ws, &m->epoch, &m->min_count, &m->neg, &m->word_ngrams,
                  &m->loss, &m->model, &m->bucket, &m->minn, &m->maxn, &m->lr_update_rate};
  for (size_t i = 0; i < sizeof a / sizeof *a; i++)
    *a[i] = rd_i32(r);
  rd(r, &m->t, 8);
  if (version == 11 && m->model == MODEL_SUP)
    m->maxn = 0;
  if (r->err || m->model != MODEL_SUP)
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s is not a supervised "
                                "fastText model (a classifier)", path);
  if (m->dim <= 0 || m->bucket < 0 || m->loss < LOSS_HS || m->loss > LOSS_OVA || m->loss == LOSS_NS)
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s: bad arguments "
                                "(dim %d, loss %d)", path, m->dim, m->loss);
  m->size = rd_i32(r);
  m->nwords = rd_i32(r);
  m->nlabels = rd_i32(r);
  m->ntokens = rd_i64(r);
  m->pruneidx_size = rd_i64(r);
  if (r->err || m->size < 0 || m->nwords < 0 || m->nlabels <= 0 ||
      m->nwords + m->nlabels != m->size || m->pruneidx_size > (1 << 30))
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s: bad dictionary header",
                                path);
  m->words = calloc((size_t)m->size + 1, sizeof *m->words);
  if (!m->words)
    return WEIR_ENOMEM;
  char *buf = malloc(1 << 16);
  if (!buf)
    return WEIR_ENOMEM;
  for (int32_t i = 0; i < m->size; i++) {
    size_t n = 0;
    int c;
    while ((c = fgetc(r->f)) != EOF && c != 0 && n < (1 << 16) - 1)
      buf[n++] = (char)c;
    if (c != 0) {
      free(buf);
      return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s: truncated dictionary "
                                  "(entry %d)", path, i);
    }
    m->words[i].word = strndup(buf, n);
    if (!m->words[i].word) {
      free(buf);
      return WEIR_ENOMEM;
    }
    m->words[i].count = rd_i64(r);
    rd(r, &m->words[i].type, 1);
  }
  free(buf);
  if (m->pruneidx_size > 0) {
    int64_t *pairs = malloc((size_t)m->pruneidx_size * 2 * sizeof(int64_t));
    m->prune_from = malloc((size_t)m->pruneidx_size * sizeof(int64_t));
    m->prune_to = malloc((size_t)m->pruneidx_size * sizeof(int64_t));
    if (!pairs || !m->prune_from || !m->prune_to) {
      free(pairs);
      return WEIR_ENOMEM;
    }
    for (int64_t i = 0; i < m->pruneidx_size; i++) {
      pairs[2 * i] = rd_i32(r);
      pairs[2 * i + 1] = rd_i32(r);
    }
    qsort(pairs, (size_t)m->pruneidx_size, 2 * sizeof(int64_t), cmp_i64);
    for (int64_t i = 0; i < m->pruneidx_size; i++) {
      m->prune_from[i] = pairs[2 * i];
      m->prune_to[i] = pairs[2 * i + 1];
    }
    free(pairs);
  }
  if (r->err)
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s: truncated", path);
  m->table_size = (uint32_t)((double)m->size / 0.7) + 1;
  m->table = malloc(m->table_size * sizeof *m->table);
  if (!m->table)
    return WEIR_ENOMEM;
  memset(m->table, 0xff, m->table_size * sizeof *m->table);
  for (int32_t i = 0; i < m->size; i++) {
    const char *w = m->words[i].word;
    uint32_t h = ft_hash(w, strlen(w)) % m->table_size;
    while (m->table[h] != -1)
      h = (h + 1) % m->table_size;
    m->table[h] = i;
  }
  int rc = init_subwords(m);
  if (rc)
    return rc;
  uint8_t qin = 0, qout = 0;
  rd(r, &qin, 1);
  if ((rc = matrix_load(r, &m->input, qin != 0)))
    return rc == WEIR_EFORMAT ? weir__set_last_error(rc, "weir_fasttext_load: %s: bad input "
                                                     "matrix", path) : rc;
  rd(r, &qout, 1);
  if ((rc = matrix_load(r, &m->output, qin && qout)))
    return rc == WEIR_EFORMAT ? weir__set_last_error(rc, "weir_fasttext_load: %s: bad output "
                                                     "matrix", path) : rc;
  if (m->input.n != m->dim || m->output.n != m->dim ||
      m->input.m < (int64_t)m->nwords + (m->pruneidx_size < 0 ? m->bucket : m->pruneidx_size) ||
      m->output.m < (m->loss == LOSS_HS ? m->nlabels - 1 : m->nlabels))
    return weir__set_last_error(WEIR_EFORMAT, "weir_fasttext_load: %s: matrix sizes do not "
                                "fit the dictionary", path);
  if (m->loss == LOSS_HS && (rc = build_tree(m)))
    return rc;
  for (int i = 0; i <= SIGMOID_TABLE_SIZE; i++) {
    float x = (float)(i * 2 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE - MAX_SIGMOID;
    m->sigmoid_table[i] = (float)(1.0 / (1.0 + exp(-x)));
  }
  return WEIR_OK;
}

void weir_fasttext_free(weir_fasttext *m) {
  if (!m)
    return;
  if (m->words)
    for (int32_t i = 0; i < m->size; i++) {
      free(m->words[i].word);
      free(m->words[i].subwords);
    }
  free(m->words);
  free(m->table);
  free(m->prune_from);
  free(m->prune_to);
  matrix_free(&m->input);
  matrix_free(&m->output);
  free(m->tree);
  free(m);
}

int weir_fasttext_load(const char *path, weir_fasttext **out) {
  if (!path || !out)
    return weir__set_last_error(WEIR_EINVAL, "weir_fasttext_load: NULL %s", path ? "out" : "path");
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return weir__set_last_error(WEIR_ENOTFOUND, "weir_fasttext_load: cannot open %s", path);
  weir_fasttext *m = calloc(1, sizeof *m);
  if (!m) {
    fclose(f);
    return WEIR_ENOMEM;
  }
  reader r = {f, 0};
  int rc = load(m, &r, path);
  fclose(f);
  if (rc) {
    weir_fasttext_free(m);
    return rc;
  }
  *out = m;
  return WEIR_OK;
}

int weir_fasttext_num_labels(const weir_fasttext *m) { return m ? m->nlabels : WEIR_EINVAL; }

const char *weir_fasttext_label(const weir_fasttext *m, int i) {
  if (!m || i < 0 || i >= m->nlabels)
    return NULL;
  return m->words[m->nwords + i].word;
}

/* ---- Prediction ------------------------------------------------------------- */

static float std_log(float x) { return logf(x + 1e-5f); }

static float sigmoid_tab(const weir_fasttext *m, float x) {
  if (x < -MAX_SIGMOID)
    return 0.0f;
  if (x > MAX_SIGMOID)
    return 1.0f;
  int64_t i = (int64_t)((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE / MAX_SIGMOID / 2);
  return m->sigmoid_table[i];
}

typedef struct pred {
  float score;
  int32_t label;
} pred;

/* fastText orders predictions with std::push_heap and std::sort_heap and
 * comparePairs (l.first > r.first); labels of equal score (one-vs-all's
 * table sigmoid makes many) come out in the order those algorithms leave
 * them, which libstdc++'s code below reproduces. */
static int heap_less(const pred *a, const pred *b) { return a->score > b->score; }

static void push_heap_at(pred *h, long hole, long top, pred value) {
  long parent = (hole - 1) / 2;
  while (hole > top && heap_less(&h[parent], &value)) {
    h[hole] = h[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  h[hole] = value;
}

static void heap_push(pred *h, long n) { push_heap_at(h, n - 1, 0, h[n - 1]); }

static void adjust_heap(pred *h, long hole, long len, pred value) {
  long top = hole, child = hole;
  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (heap_less(&h[child], &h[child - 1]))
      child--;
    h[hole] = h[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    h[hole] = h[child - 1];
    hole = child - 1;
  }
  push_heap_at(h, hole, top, value);
}

static void sort_heap(pred *h, long n) {
  while (n > 1) {
    n--;
    pred value = h[n];
    h[n] = h[0];
    adjust_heap(h, 0, n, value);
  }
}

static void dfs(const weir_fasttext *m, int32_t node, float score, const float *hidden,
                pred *out, int *n) {
  if (score < std_log(0.0f))
    return;
  const tree_node *t = &m->tree[node];
  if (t->left == -1 && t->right == -1) {
    out[(*n)++] = (pred){score, node};
    heap_push(out, *n);
    return;
  }
  float f = dot_row(&m->output, hidden, node - m->nlabels);
  f = 1.0f / (1.0f + expf(-f));
  dfs(m, t->left, score + std_log(1.0f - f), hidden, out, n);
  dfs(m, t->right, score + std_log(f), hidden, out, n);
}

int weir_fasttext_predict(const weir_fasttext *m, const char *text, size_t len, int k,
                          int *labels, double *probs) {
  if (!m || (!text && len) || !labels || !probs)
    return WEIR_EINVAL;
  ids in = {0};
  uint32_t *hashes = NULL;
  size_t nh = 0, hcap = 0;
  int rc = WEIR_OK;
  char *buf = NULL;
  size_t bcap = 0;
  /* Words split on fastText's whitespace; the line ends with "</s>", as
   * the Python package appends a newline. */
  size_t i = 0;
  int eos = 0;
  while (!rc && !eos) {
    while (i < len && (text[i] == ' ' || text[i] == '\r' || text[i] == '\t' || text[i] == '\v' ||
                       text[i] == '\f' || text[i] == '\0'))
      i++;
    const char *w;
    size_t wl;
    if (i >= len || text[i] == '\n') {
      w = "</s>";
      wl = 4;
      eos = 1;
    } else {
      size_t s = i;
      while (i < len && text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t' &&
             text[i] != '\v' && text[i] != '\f' && text[i] != '\0')
        i++;
      w = text + s;
      wl = i - s;
    }
    uint32_t h = ft_hash(w, wl);
    int32_t wid = find_word(m, w, wl, h);
    int is_label = wid >= 0 ? m->words[wid].type == ENTRY_LABEL
                            : (wl >= 9 && memcmp(w, "__label__", 9) == 0);
    if (is_label)
      continue;
    if (wid < 0) {
      if (!(wl == 4 && memcmp(w, "</s>", 4) == 0) && m->maxn > 0) {
        if (wl + 3 > bcap) {
          bcap = wl * 2 + 16;
          char *nb = realloc(buf, bcap);
          if (!nb) {
            rc = WEIR_ENOMEM;
            break;
          }
          buf = nb;
        }
        buf[0] = '<';
        memcpy(buf + 1, w, wl);
        buf[wl + 1] = '>';
        rc = subwords(m, buf, wl + 2, &in);
      }
    } else if (m->maxn <= 0) {
      rc = ids_push(&in, wid);
    } else {
      for (int32_t q = 0; q < m->words[wid].nsub && !rc; q++)
        rc = ids_push(&in, m->words[wid].subwords[q]);
    }
    if (nh == hcap) {
      hcap = hcap ? hcap * 2 : 64;
      void *p = realloc(hashes, hcap * sizeof *hashes);
      if (!p) {
        rc = WEIR_ENOMEM;
        break;
      }
      hashes = p;
    }
    hashes[nh++] = h;
  }
  /* fastText keeps the word hashes as int32_t: they widen to 64 bits with
   * their sign. */
  for (size_t a = 0; a < nh && !rc; a++) {
    uint64_t h = (uint64_t)(int64_t)(int32_t)hashes[a];
    for (size_t b = a + 1; b < nh && b < a + (size_t)m->word_ngrams && !rc; b++) {
      h = h * 116049371 + (uint64_t)(int64_t)(int32_t)hashes[b];
      rc = push_hash(m, &in, (int32_t)(h % (uint64_t)m->bucket));
    }
  }
  free(hashes);
  free(buf);
  if (rc) {
    free(in.v);
    return rc;
  }
  if (in.n == 0) {
    free(in.v);
    return 0;
  }
  float *hidden = calloc((size_t)m->dim, sizeof(float));
  pred *pr = malloc((size_t)m->nlabels * sizeof *pr);
  float *outv = malloc((size_t)m->nlabels * sizeof(float));
  if (!hidden || !pr || !outv) {
    free(hidden);
    free(pr);
    free(outv);
    free(in.v);
    return WEIR_ENOMEM;
  }
  for (size_t q = 0; q < in.n; q++)
    add_row(&m->input, hidden, in.v[q]);
  float scale = (float)(1.0 / (double)in.n);
  for (int32_t d = 0; d < m->dim; d++)
    hidden[d] *= scale;
  free(in.v);
  int np = 0;
  if (m->loss == LOSS_HS) {
    dfs(m, 2 * m->nlabels - 2, 0.0f, hidden, pr, &np);
  } else {
    for (int32_t l = 0; l < m->nlabels; l++)
      outv[l] = dot_row(&m->output, hidden, l);
    if (m->loss == LOSS_SOFTMAX) {
      float mx = outv[0], z = 0;
      for (int32_t l = 0; l < m->nlabels; l++)
        mx = outv[l] > mx ? outv[l] : mx;
      for (int32_t l = 0; l < m->nlabels; l++) {
        outv[l] = expf(outv[l] - mx);
        z += outv[l];
      }
      for (int32_t l = 0; l < m->nlabels; l++)
        outv[l] /= z;
    } else {
      for (int32_t l = 0; l < m->nlabels; l++)
        outv[l] = sigmoid_tab(m, outv[l]);
    }
    for (int32_t l = 0; l < m->nlabels; l++)
      if (outv[l] >= 0.0f) {
        pr[np++] = (pred){std_log(outv[l]), l};
        heap_push(pr, np);
      }
  }
  sort_heap(pr, np);
  int take = k <= 0 || k > np ? np : k;
  for (int q = 0; q < take; q++) {
    labels[q] = pr[q].label;
    probs[q] = (double)expf(pr[q].score);
  }
  free(hidden);
  free(pr);
  free(outv);
  return take;
}
