/* Handing weir blocks to Arrow and DLPack consumers without copying: a
 * block of captions and embeddings is exported through the Arrow C Data
 * Interface, read by code that knows only Arrow, imported back, streamed,
 * and its tensor column handed over as a DLPack tensor. */
#include <dlpack/dlpack.h>
#include <stdio.h>
#include <string.h>

#include <weir.h>

#define CHECK(call)                                                          \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != WEIR_OK) {                                                    \
      fprintf(stderr, "%s: %s (%s)\n", #call, weir_strerror(rc_),            \
              weir_last_errmsg());                                           \
      return 1;                                                              \
    }                                                                        \
  } while (0)

/* A consumer that knows nothing of weir: it walks a struct array by the
 * C Data Interface alone. */
static void print_arrow(const struct ArrowArray *a, const struct ArrowSchema *s) {
  printf("arrow: struct '%s' of %lld rows, %lld columns\n", s->format,
         (long long)a->length, (long long)s->n_children);
  for (int64_t c = 0; c < s->n_children; c++) {
    const struct ArrowSchema *cs = s->children[c];
    const struct ArrowArray *ca = a->children[c];
    printf("  %-8s format %-5s nulls %lld", cs->name, cs->format, (long long)ca->null_count);
    if (!strcmp(cs->format, "U")) {       /* large utf8: int64 offsets */
      const int64_t *off = ca->buffers[1];
      const char *bytes = ca->buffers[2];
      printf("  row 0 = \"%.*s\"", (int)(off[1] - off[0]), bytes + off[0]);
    } else if (!strncmp(cs->format, "+w:", 3)) { /* fixed_shape_tensor */
      const float *v = ca->children[0]->buffers[1];
      printf("  row 0 = [%g %g %g %g]", v[0], v[1], v[2], v[3]);
    }
    printf("\n");
  }
}

int main(void) {
  /* A block: a caption per row and a 2x2 float32 embedding. */
  weir_builder *bld;
  CHECK(weir_builder_create(&bld));
  int64_t shape[2] = {2, 2};
  CHECK(weir_builder_add_column(bld, "caption", WEIR_TYPE_STRING));
  CHECK(weir_builder_add_tensor_column(bld, "emb", WEIR_DTYPE_FLOAT32, 2, shape));
  static const char *const captions[] = {"a cat", "two dogs", "a red bus", "the sea"};
  for (int i = 0; i < 4; i++) {
    float emb[4] = {(float)i, (float)i + 0.25f, (float)i + 0.5f, (float)i + 0.75f};
    CHECK(weir_builder_append_string(bld, 0, captions[i], strlen(captions[i])));
    CHECK(weir_builder_append_tensor(bld, 1, emb));
  }
  weir_block *b;
  CHECK(weir_builder_finish(bld, &b));
  weir_builder_destroy(bld);

  /* Export. The array keeps the bytes alive, so the block can go now. */
  struct ArrowArray array;
  struct ArrowSchema schema;
  CHECK(weir_block_to_arrow(b, &array, &schema));
  weir_block *keep = weir_block_ref(b);
  weir_block_unref(&b);
  print_arrow(&array, &schema);

  /* Import moves both in; weir releases them when the last block goes. */
  weir_block *back;
  CHECK(weir_block_from_arrow(&array, &schema, &back));
  printf("imported: %zu rows, %zu columns, %zu bytes, no copy\n",
         weir_block_num_rows(back), weir_block_num_columns(back), weir_block_nbytes(back));

  /* A stream of two slices, read back the way weir reads any producer's
   * ArrowArrayStream. */
  weir_block *parts[2];
  CHECK(weir_block_slice(keep, 0, 1, &parts[0]));
  CHECK(weir_block_slice(keep, 1, 3, &parts[1]));
  struct ArrowArrayStream stream;
  CHECK(weir_blocks_to_arrow_stream(parts, 2, &stream));
  weir_block_unref(&parts[0]);
  weir_block_unref(&parts[1]);
  weir_block *batch;
  int rc;
  while ((rc = weir_arrow_stream_next(&stream, &batch)) == WEIR_OK) {
    printf("stream batch: %zu rows\n", weir_block_num_rows(batch));
    weir_block_unref(&batch);
  }
  stream.release(&stream);
  if (rc != WEIR_EOF) return 1;

  /* DLPack: the embeddings as one [4, 2, 2] float32 tensor. */
  DLManagedTensor *t;
  CHECK(weir_block_column_to_dlpack(back, 1, &t));
  printf("dlpack: ndim %d shape [%lld, %lld, %lld] dtype code %u bits %u on %s\n",
         t->dl_tensor.ndim, (long long)t->dl_tensor.shape[0],
         (long long)t->dl_tensor.shape[1], (long long)t->dl_tensor.shape[2],
         t->dl_tensor.dtype.code, t->dl_tensor.dtype.bits,
         t->dl_tensor.device.device_type == kDLCPU ? "the CPU" : "a GPU");
  weir_block_unref(&back);
  weir_block_unref(&keep);
  printf("dlpack row 3 = %g (still valid after the blocks went)\n",
         ((const float *)t->dl_tensor.data)[12]);
  t->deleter(t);
  return 0;
}
