/* Arrow export cost against block size: weir_block_to_arrow + release of
 * a four-column block (int64, float32, string, uint8 tensor) from 1 KiB to
 * 1 GiB, against the peer a copying export would be: memcpy of the same
 * bytes, on the same machine in the same run. Zero-copy export should cost
 * the same at every size (a handful of allocations per column), so the
 * ratio memcpy / export grows with the size. The last column adds the
 * zero-copy import of the export, whose checks read the string offsets and
 * validity bits: it grows with rows, not with bytes.
 *
 * A second table holds the bytes fixed and varies the number of columns,
 * showing the cost is per column.
 *
 *   bench_arrow_export [max_mib]      (default 1024)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weir.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum { TENSOR_BYTES = 1024, TEXT_BYTES = 16 };

/* A block of about `bytes` bytes: each row is an id, a score, a 16-byte
 * string and a 1 KiB uint8 tensor. */
static weir_block *make_block(size_t bytes) {
  size_t row = 8 + 4 + 8 + TEXT_BYTES + TENSOR_BYTES;
  size_t rows = bytes / row ? bytes / row : 1;
  weir_builder *bld = NULL;
  int64_t shape[1] = {TENSOR_BYTES};
  if (weir_builder_create(&bld) ||
      weir_builder_add_column(bld, "id", WEIR_TYPE_INT64) ||
      weir_builder_add_column(bld, "score", WEIR_TYPE_FLOAT32) ||
      weir_builder_add_column(bld, "text", WEIR_TYPE_STRING) ||
      weir_builder_add_tensor_column(bld, "pixels", WEIR_DTYPE_UINT8, 1, shape) ||
      weir_builder_reserve(bld, rows))
    return NULL;
  /* Columnar fills in chunks keep the builder's own memory small. */
  enum { CHUNK = 4096 };
  int64_t *ids = malloc(CHUNK * sizeof *ids);
  float *scores = malloc(CHUNK * sizeof *scores);
  uint8_t *pixels = malloc((size_t)CHUNK * TENSOR_BYTES);
  if (!ids || !scores || !pixels) return NULL;
  memset(pixels, 0x5A, (size_t)CHUNK * TENSOR_BYTES);
  char text[32]; /* "row-" and 12 digits: TEXT_BYTES bytes */
  for (size_t done = 0; done < rows;) {
    size_t n = rows - done < CHUNK ? rows - done : CHUNK;
    for (size_t i = 0; i < n; i++) {
      ids[i] = (int64_t)(done + i);
      scores[i] = (float)(done + i) * 0.5f;
      snprintf(text, sizeof text, "row-%012zu", done + i);
      if (weir_builder_append_string(bld, 2, text, TEXT_BYTES)) return NULL;
    }
    if (weir_builder_append_values(bld, 0, ids, n) ||
        weir_builder_append_values(bld, 1, scores, n) ||
        weir_builder_append_values(bld, 3, pixels, n))
      return NULL;
    done += n;
  }
  free(ids);
  free(scores);
  free(pixels);
  weir_block *b = NULL;
  if (weir_builder_finish(bld, &b)) b = NULL;
  weir_builder_destroy(bld);
  return b;
}

/* Mean ns of export + release of array and schema, over enough rounds
 * to fill ~0.2 s. */
static double time_export(const weir_block *b, long *rounds_out) {
  long rounds = 0;
  double start = now_ns(), end;
  do {
    for (int k = 0; k < 256; k++) {
      struct ArrowArray a;
      struct ArrowSchema s;
      if (weir_block_to_arrow(b, &a, &s) != WEIR_OK) {
        fprintf(stderr, "bench_arrow_export: %s\n", weir_last_errmsg());
        exit(1);
      }
      a.release(&a);
      s.release(&s);
    }
    rounds += 256;
    end = now_ns();
  } while (end - start < 2e8);
  *rounds_out = rounds;
  return (end - start) / (double)rounds;
}

/* Mean ns of export, import (weir_block_from_arrow, which validates
 * every string offset and counts validity bits: O(rows), never O(bytes))
 * and unref of the imported block. */
static double time_round_trip(const weir_block *b) {
  long rounds = 0;
  double start = now_ns(), end;
  do {
    for (int k = 0; k < 16; k++) {
      struct ArrowArray a;
      struct ArrowSchema s;
      weir_block *back = NULL;
      if (weir_block_to_arrow(b, &a, &s) != WEIR_OK ||
          weir_block_from_arrow(&a, &s, &back) != WEIR_OK) {
        fprintf(stderr, "bench_arrow_export: %s\n", weir_last_errmsg());
        exit(1);
      }
      weir_block_unref(&back);
    }
    rounds += 16;
    end = now_ns();
  } while (end - start < 2e8);
  return (end - start) / (double)rounds;
}

/* Mean ns of a memcpy of `bytes` (into memory touched beforehand, so page
 * faults are not counted against the peer), at least 3 rounds. */
static double time_memcpy(const void *src, void *dst, size_t bytes) {
  long rounds = 0;
  double start = now_ns(), end;
  do {
    memcpy(dst, src, bytes);
    __asm__ __volatile__("" : : "r"(dst) : "memory");
    rounds++;
    end = now_ns();
  } while (end - start < 2e8 || rounds < 3);
  return (end - start) / (double)rounds;
}

/* A block of `ncols` int64 columns sharing `bytes` bytes between them. */
static weir_block *make_wide(size_t ncols, size_t bytes) {
  size_t rows = bytes / (8 * ncols);
  weir_builder *bld = NULL;
  if (weir_builder_create(&bld)) return NULL;
  int64_t *vals = calloc(rows ? rows : 1, sizeof *vals);
  if (!vals) return NULL;
  for (size_t c = 0; c < ncols; c++) {
    char name[24];
    snprintf(name, sizeof name, "c%zu", c);
    if (weir_builder_add_column(bld, name, WEIR_TYPE_INT64) ||
        weir_builder_append_values(bld, c, vals, rows))
      return NULL;
  }
  free(vals);
  weir_block *b = NULL;
  if (weir_builder_finish(bld, &b)) b = NULL;
  weir_builder_destroy(bld);
  return b;
}

int main(int argc, char **argv) {
  size_t max_mib = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1024;
  printf("Arrow C Data export of a 4-column block (int64, float32, string, uint8[1024] tensor)\n");
  printf("peer: memcpy of the block's bytes (what a copying export would pay)\n\n");
  printf("%12s %9s %13s %16s %14s %15s\n", "block bytes", "rows", "export+rel ns",
         "memcpy ns", "memcpy/export", "export+import ns");
  double first_ns = 0, last_ns = 0;
  for (size_t bytes = 1024; bytes <= max_mib << 20; bytes *= 4) {
    weir_block *b = make_block(bytes);
    if (!b) {
      fprintf(stderr, "bench_arrow_export: could not build a %zu-byte block\n", bytes);
      return 1;
    }
    size_t nbytes = weir_block_nbytes(b);
    long rounds;
    double ex = time_export(b, &rounds);
    double rt = time_round_trip(b);
    /* The peer copies the same bytes: the column buffers laid end to end. */
    void *src = malloc(nbytes), *dst = malloc(nbytes);
    if (!src || !dst) {
      fprintf(stderr, "bench_arrow_export: out of memory for the memcpy peer\n");
      return 1;
    }
    memset(src, 1, nbytes);
    memset(dst, 2, nbytes);
    double mc = time_memcpy(src, dst, nbytes);
    free(src);
    free(dst);
    printf("%12zu %9zu %13.0f %16.0f %14.1f %15.0f\n", nbytes, weir_block_num_rows(b), ex,
           mc, mc / ex, rt);
    if (!first_ns) first_ns = ex;
    last_ns = ex;
    weir_block_unref(&b);
    if (bytes > SIZE_MAX / 4) break;
  }
  printf("\nexport cost at the largest size / at the smallest: %.2f "
         "(1.0 = does not grow with data size)\n", last_ns / first_ns);

  printf("\nsame 16 MiB of int64 values split over more columns\n");
  printf("%8s %14s %14s\n", "columns", "export+rel ns", "ns per column");
  for (size_t ncols = 1; ncols <= 256; ncols *= 4) {
    weir_block *b = make_wide(ncols, (size_t)16 << 20);
    if (!b) {
      fprintf(stderr, "bench_arrow_export: could not build a %zu-column block\n", ncols);
      return 1;
    }
    long rounds;
    double ex = time_export(b, &rounds);
    printf("%8zu %14.0f %14.0f\n", ncols, ex, ex / (double)ncols);
    weir_block_unref(&b);
  }
  return 0;
}
