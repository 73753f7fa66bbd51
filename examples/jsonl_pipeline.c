/* A data-preparation pass over JSONL: read files (plain, .zst or .gz; a
 * folder or a glob works too), drop short documents, and write the rest as
 * zstd-compressed JSONL shards that a crashed run can resume.
 *
 *   jsonl_pipeline [input] [output folder] [min characters]
 *
 * Without arguments it makes a small input of its own in /tmp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

typedef struct filter {
  size_t min_chars;
} filter;

/* Keeps the rows whose "text" has at least min_chars bytes. `in` is only
 * borrowed; the kept rows go out as a new block that shares nothing it
 * does not need (weir_block_take copies just those rows). */
static int keep_long(void *user, weir_block *in, weir_emit *out) {
  const filter *f = user;
  int ci = weir_block_column_index(in, "text");
  if (ci < 0) return ci;
  weir_column text;
  weir_block_column(in, (size_t)ci, &text);
  uint32_t *rows = malloc(text.length * sizeof *rows + 1);
  if (!rows) return WEIR_ENOMEM;
  size_t n = 0;
  for (size_t r = 0; r < text.length; r++) {
    size_t len = (size_t)(text.offsets[r + 1] - text.offsets[r]);
    if (weir_block_is_valid(in, (size_t)ci, r) && len >= f->min_chars)
      rows[n++] = (uint32_t)r;
  }
  weir_block *kept = NULL;
  int rc = n ? weir_block_take(in, rows, n, &kept) : WEIR_OK;
  free(rows);
  if (rc != WEIR_OK || !kept) return rc;
  return weir_emit_block(out, kept);
}

static const char *make_sample(void) {
  static const char *path = "/tmp/weir-jsonl-example.jsonl";
  FILE *fp = fopen(path, "w");
  if (!fp) return NULL;
  for (int i = 0; i < 20000; i++)
    fprintf(fp, "{\"id\": %d, \"text\": \"%.*s\", \"lang\": \"%s\"}\n", i,
            i % 97, "Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
            "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua",
            i % 3 ? "en" : "fr");
  fclose(fp);
  return path;
}

int main(int argc, char **argv) {
  const char *in = argc > 1 ? argv[1] : make_sample();
  const char *out = argc > 2 ? argv[2] : "/tmp/weir-jsonl-example-out";
  filter f = {argc > 3 ? (size_t)atol(argv[3]) : 40};
  if (!in) return 1;

  weir_pipeline *p;
  if (weir_pipeline_create(&p, NULL) != WEIR_OK) return 1;

  /* Columns are inferred from the first rows; a malformed line would be
   * skipped and counted instead of ending the run. */
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.on_error = WEIR_ON_ERROR_SKIP;
  weir_op *src = weir_read_jsonl(p, in, &ro);
  weir_op *kept = weir_map_batches(p, src, "keep_long", keep_long, &f, NULL);

  /* Shards of 5000 rows, part-00000.jsonl.zst...; resume keeps the shards
   * a killed run already completed. */
  weir_write_options wo = WEIR_WRITE_OPTIONS_INIT;
  wo.shard_rows = 5000;
  wo.compression = WEIR_COMPRESS_ZSTD;
  wo.resume = 1;
  weir_op *sink = weir_write_jsonl(p, kept, out, &wo);

  int rc = sink ? weir_pipeline_run(p, sink) : WEIR_EINVAL;
  if (rc != WEIR_OK) {
    fprintf(stderr, "failed: %s\n", weir_pipeline_errmsg(p));
  } else {
    char *table = NULL;
    weir_pipeline_stats_table(p, &table);
    printf("%s", table ? table : "");
    free(table);
    printf("wrote %s/part-*.jsonl.zst\n", out);
  }
  weir_pipeline_destroy(p);
  return rc == WEIR_OK ? 0 : 1;
}
