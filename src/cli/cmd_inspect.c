/* `weir inspect` and `weir head`: data files read through weir's own
 * readers (so local, glob, http(s) and s3 inputs all work), summarised or
 * printed as JSON lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

typedef struct format {
  const char *name;
  weir_op *(*read)(weir_pipeline *, const char *, const weir_read_options *);
} format;

static int ends_with(const char *s, const char *suf) {
  size_t ls = strlen(s), lf = strlen(suf);
  return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* Parquet has its own options; the file's own codecs need none. */
static weir_op *read_parquet_file(weir_pipeline *p, const char *uri, const weir_read_options *o) {
  (void)o;
  return weir_read_parquet(p, uri, NULL);
}

/* The format from the name, under any .zst/.gz suffix. */
static int guess(const char *path, format *f, const char **compression) {
  char name[4096];
  snprintf(name, sizeof name, "%s", path);
  *compression = "none";
  if (ends_with(name, ".zst")) {
    *compression = "zstd";
    name[strlen(name) - 4] = '\0';
  } else if (ends_with(name, ".gz")) {
    *compression = "gzip";
    name[strlen(name) - 3] = '\0';
  }
  static const struct {
    const char *suffix;
    format f;
  } table[] = {
    {".jsonl", {"jsonl", weir_read_jsonl}}, {".ndjson", {"jsonl", weir_read_jsonl}},
    {".json", {"jsonl", weir_read_jsonl}},  {".csv", {"csv", weir_read_csv}},
    {".tsv", {"csv", weir_read_csv}},       {".txt", {"text", weir_read_text}},
    {".text", {"text", weir_read_text}},    {".weir", {"blocks", weir_read_blocks}},
    {".parquet", {"parquet", read_parquet_file}},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (ends_with(name, table[i].suffix)) {
      *f = table[i].f;
      if (!strcmp(f->name, "blocks")) *compression = "zstd (frames)";
      if (!strcmp(f->name, "parquet")) *compression = "per column chunk";
      return 0;
    }
  return -1;
}

static const char *dtype_name(int d) {
  static const char *names[] = {"?", "uint8", "int8", "int16", "int32", "int64", "float16",
                                "bfloat16", "float32", "float64", "uint16", "uint32", "uint64"};
  return d >= 1 && d <= 12 ? names[d] : "?";
}

static const char *type_text(const weir_column *c, char *buf, size_t len) {
  static const char *types[] = {"?", "bool", "int32", "int64", "float32", "float64", "string",
                                "binary", "tensor", "list"};
  if (c->type == WEIR_TYPE_LIST) {
    snprintf(buf, len, "list<%s>", dtype_name(c->dtype));
    return buf;
  }
  if (c->type != WEIR_TYPE_TENSOR)
    return c->type >= 1 && c->type <= 9 ? types[c->type] : "unknown";
  size_t off = (size_t)snprintf(buf, len, "tensor %s [", dtype_name(c->dtype));
  for (int d = 0; d < c->ndim && off < len; d++)
    off += (size_t)snprintf(buf + off, len - off, "%s%lld", d ? ", " : "", (long long)c->shape[d]);
  if (off < len) snprintf(buf + off, len - off, "]");
  return buf;
}

/* One element of a list column as JSON (half floats are shown by type). */
static void print_element(int dtype, const void *data, int64_t i) {
  switch (dtype) {
  case WEIR_DTYPE_UINT8: printf("%u", ((const uint8_t *)data)[i]); break;
  case WEIR_DTYPE_INT8: printf("%d", ((const int8_t *)data)[i]); break;
  case WEIR_DTYPE_INT16: printf("%d", ((const int16_t *)data)[i]); break;
  case WEIR_DTYPE_UINT16: printf("%u", ((const uint16_t *)data)[i]); break;
  case WEIR_DTYPE_INT32: printf("%d", ((const int32_t *)data)[i]); break;
  case WEIR_DTYPE_UINT32: printf("%u", ((const uint32_t *)data)[i]); break;
  case WEIR_DTYPE_INT64: printf("%lld", (long long)((const int64_t *)data)[i]); break;
  case WEIR_DTYPE_UINT64: printf("%llu", (unsigned long long)((const uint64_t *)data)[i]); break;
  case WEIR_DTYPE_FLOAT32: {
    double v = ((const float *)data)[i];
    if (isfinite(v)) printf("%.9g", v);
    else fputs("null", stdout);
    break;
  }
  case WEIR_DTYPE_FLOAT64: {
    double v = ((const double *)data)[i];
    if (isfinite(v)) printf("%.17g", v);
    else fputs("null", stdout);
    break;
  }
  default: printf("\"<%s>\"", dtype_name(dtype));
  }
}

static void human(double b, char *buf, size_t len) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024 && i < 4) {
    b /= 1024;
    i++;
  }
  snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* Opens `uri` with its reader (and a limit when rows > 0) as an iterator. */
static int open_iter(const char *uri, uint64_t rows, weir_pipeline **p, weir_iter **it,
                     const char **fmt, const char **compression) {
  format f;
  if (guess(uri, &f, compression) != 0) {
    fprintf(stderr, "weir: %s: unknown format (expected .jsonl, .csv, .txt, .parquet or .weir, "
                    "optionally .zst or .gz)\n", uri);
    return EXIT_BAD_SPEC;
  }
  *fmt = f.name;
  weir_pipeline_options po = WEIR_PIPELINE_OPTIONS_INIT;
  po.memory_budget = 256u << 20;
  if (weir_pipeline_create(p, &po) != WEIR_OK) {
    fprintf(stderr, "weir: %s\n", weir_last_errmsg());
    return EXIT_RUN_FAILED;
  }
  weir_op *op = f.read(*p, uri, NULL);
  if (op && rows) op = weir_limit(*p, op, rows);
  if (!op || weir_pipeline_iter(*p, op, NULL, it) != WEIR_OK) {
    fprintf(stderr, "weir: %s: %s\n", uri, weir_pipeline_errmsg(*p));
    weir_pipeline_destroy(*p);
    *p = NULL;
    return EXIT_RUN_FAILED;
  }
  return 0;
}

/* Parquet's own layout: row groups, column chunks, codecs, statistics.
 * A folder or glob of several files was summarised above as one input;
 * the footers are per file, so they are shown for one file only. */
static int print_parquet_footer(const char *uri) {
  char *text = NULL;
  int rc = weir_parquet_describe(uri, NULL, &text);
  if (rc == WEIR_EINVAL) { /* several files: no single footer */
    printf("  row groups: name one file to see them (%s)\n", weir_last_errmsg());
    return 0;
  }
  if (rc != WEIR_OK) {
    fprintf(stderr, "weir: %s\n", weir_last_errmsg());
    return EXIT_RUN_FAILED;
  }
  /* Indented under the summary, line by line. */
  for (char *line = text; *line;) {
    char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    printf("  %.*s\n", (int)n, line);
    line += n + (end != NULL);
  }
  weir_free(text);
  return 0;
}

static int inspect_one(const char *uri) {
  weir_pipeline *p;
  weir_iter *it;
  const char *fmt, *comp;
  int rc = open_iter(uri, 0, &p, &it, &fmt, &comp);
  if (rc) return rc;
  uint64_t rows = 0, blocks = 0, bytes = 0;
  weir_block *b = NULL, *first = NULL;
  int r;
  while ((r = weir_iter_next(it, &b)) == WEIR_OK) {
    rows += weir_block_num_rows(b);
    bytes += weir_block_nbytes(b);
    blocks++;
    if (!first) first = b;
    else weir_block_unref(&b);
  }
  if (r != WEIR_EOF) {
    fprintf(stderr, "weir: %s: %s\n", uri, weir_pipeline_errmsg(p));
    weir_block_unref(&first);
    weir_iter_destroy(it);
    weir_pipeline_destroy(p);
    return EXIT_RUN_FAILED;
  }
  struct stat st;
  char size[32] = "-", mem[32];
  if (stat(uri, &st) == 0 && S_ISREG(st.st_mode)) human((double)st.st_size, size, sizeof size);
  human((double)bytes, mem, sizeof mem);
  printf("%s\n  format: %s  compression: %s  size: %s\n  rows: %llu  blocks: %llu  in memory: %s\n",
         uri, fmt, comp, size, (unsigned long long)rows, (unsigned long long)blocks, mem);
  if (first) {
    printf("  columns:\n");
    for (size_t c = 0; c < weir_block_num_columns(first); c++) {
      weir_column col;
      char buf[160];
      if (weir_block_column(first, c, &col) == WEIR_OK)
        printf("    %-24s %s\n", col.name, type_text(&col, buf, sizeof buf));
    }
  } else {
    printf("  columns: none (no rows)\n");
  }
  weir_block_unref(&first);
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  if (!strcmp(fmt, "parquet")) return print_parquet_footer(uri);
  return 0;
}

int cmd_inspect(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "weir inspect: no files (usage: weir inspect FILE...)\n");
    return EXIT_BAD_SPEC;
  }
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    if (argv[i][0] == '-') {
      fprintf(stderr, "weir inspect: unknown option '%s'\n", argv[i]);
      return EXIT_BAD_SPEC;
    }
  }
  for (int i = 0; i < argc; i++) {
    int r = inspect_one(argv[i]);
    if (r && !rc) rc = r;
  }
  return rc;
}

static void json_bytes(const unsigned char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"' || s[i] == '\\') printf("\\%c", s[i]);
    else if (s[i] == '\n') fputs("\\n", stdout);
    else if (s[i] == '\t') fputs("\\t", stdout);
    else if (s[i] < 0x20) printf("\\u%04x", s[i]);
    else putchar(s[i]);
  }
  putchar('"');
}

static void print_value(const weir_column *c, size_t r) {
  if (c->validity && !(c->validity[r / 8] >> (r % 8) & 1)) {
    fputs("null", stdout);
    return;
  }
  switch (c->type) {
  case WEIR_TYPE_BOOL:
    fputs((((const uint8_t *)c->data)[r / 8] >> (r % 8) & 1) ? "true" : "false", stdout);
    break;
  case WEIR_TYPE_INT32: printf("%d", ((const int32_t *)c->data)[r]); break;
  case WEIR_TYPE_INT64: printf("%lld", (long long)((const int64_t *)c->data)[r]); break;
  case WEIR_TYPE_FLOAT32: {
    double v = ((const float *)c->data)[r];
    if (isfinite(v)) printf("%.9g", v);
    else fputs("null", stdout);
    break;
  }
  case WEIR_TYPE_FLOAT64: {
    double v = ((const double *)c->data)[r];
    if (isfinite(v)) printf("%.17g", v);
    else fputs("null", stdout);
    break;
  }
  case WEIR_TYPE_STRING:
    json_bytes((const unsigned char *)c->data + c->offsets[r], (size_t)(c->offsets[r + 1] - c->offsets[r]));
    break;
  case WEIR_TYPE_BINARY:
    printf("\"<%lld bytes>\"", (long long)(c->offsets[r + 1] - c->offsets[r]));
    break;
  case WEIR_TYPE_LIST:
    putchar('[');
    for (int64_t i = c->offsets[r]; i < c->offsets[r + 1]; i++) {
      if (i > c->offsets[r]) fputs(", ", stdout);
      print_element(c->dtype, c->data, i);
    }
    putchar(']');
    break;
  default: {
    char buf[160];
    printf("\"<%s>\"", type_text(c, buf, sizeof buf));
  }
  }
}

int cmd_head(int argc, char **argv) {
  const char *uri = NULL;
  long long n = 10;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--rows")) {
      char *end;
      if (i + 1 >= argc || (n = strtoll(argv[i + 1], &end, 10), *end || end == argv[i + 1] || n < 0)) {
        fprintf(stderr, "weir head: -n needs a number of rows >= 0\n");
        return EXIT_BAD_SPEC;
      }
      i++;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "weir head: unknown option '%s'\n", argv[i]);
      return EXIT_BAD_SPEC;
    } else if (!uri) {
      uri = argv[i];
    } else {
      fprintf(stderr, "weir head: one file at a time\n");
      return EXIT_BAD_SPEC;
    }
  }
  if (!uri) {
    fprintf(stderr, "weir head: no file (usage: weir head FILE [-n N])\n");
    return EXIT_BAD_SPEC;
  }
  if (n == 0) return 0;
  weir_pipeline *p;
  weir_iter *it;
  const char *fmt, *comp;
  int rc = open_iter(uri, (uint64_t)n, &p, &it, &fmt, &comp);
  if (rc) return rc;
  weir_block *b;
  int r;
  while ((r = weir_iter_next(it, &b)) == WEIR_OK) {
    size_t nc = weir_block_num_columns(b), nr = weir_block_num_rows(b);
    for (size_t row = 0; row < nr; row++) {
      putchar('{');
      for (size_t c = 0; c < nc; c++) {
        weir_column col;
        if (weir_block_column(b, c, &col) != WEIR_OK) continue;
        if (c) fputs(", ", stdout);
        json_bytes((const unsigned char *)col.name, strlen(col.name));
        fputs(": ", stdout);
        print_value(&col, row);
      }
      fputs("}\n", stdout);
    }
    weir_block_unref(&b);
  }
  if (r != WEIR_EOF) {
    fprintf(stderr, "weir: %s: %s\n", uri, weir_pipeline_errmsg(p));
    rc = EXIT_RUN_FAILED;
  }
  weir_iter_destroy(it);
  weir_pipeline_destroy(p);
  return rc;
}
