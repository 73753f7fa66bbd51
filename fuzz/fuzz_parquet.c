/* libFuzzer target of the Parquet footer and page decoders. An input is
 * either a whole file (its footer parsed and its schema mapped, then every
 * column chunk decoded, as weir_read_parquet would) or, when it does not
 * end in "PAR1", one column chunk with its leaf and chunk description
 * taken from the first bytes. Build: fuzz/build.sh; corpus: files pyarrow
 * wrote (tests/parquet/pq_tool.py make DIR). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/error.h"
#include "core/block_internal.h"
#include "parquet/meta.h"
#include "parquet/parquet_internal.h"

static void decode_file(const uint8_t *data, size_t size) {
  if (size < 12 || memcmp(data, "PAR1", 4)) return;
  uint32_t flen;
  memcpy(&flen, data + size - 8, 4);
  if ((uint64_t)flen > size - 12) return;
  uint8_t *buf = malloc(flen ? flen : 1);
  memcpy(buf, data + size - 8 - flen, flen);
  pq_file_meta m;
  char err[600];
  if (weir__pq_meta_parse(buf, flen, size - 8 - flen, &m, err, sizeof err)) return;
  pq_leaf *leaves;
  size_t n;
  if (weir__pq_leaves(&m, NULL, 0, &leaves, &n, err, sizeof err) == WEIR_OK) {
    for (size_t r = 0; r < m.nrgs; r++) {
      if (m.rgs[r].num_rows > (1 << 22)) continue;
      for (size_t k = 0; k < n; k++) {
        const pq_chunk *c = &m.rgs[r].chunks[leaves[k].chunk_idx];
        int64_t start = c->dict_page_offset >= 0 && c->dict_page_offset < c->data_page_offset
                            ? c->dict_page_offset : c->data_page_offset;
        weir__column col;
        memset(&col, 0, sizeof col);
        weir__pq_read_chunk(&leaves[k], c, data + start, (size_t)c->total_compressed,
                            m.rgs[r].num_rows, &col, err, sizeof err);
        weir__column_clear(&col);
      }
    }
    free(leaves);
  }
  weir__pq_meta_free(&m);
}

static void decode_chunk(const uint8_t *data, size_t size) {
  if (size < 8) return;
  pq_leaf l;
  memset(&l, 0, sizeof l);
  l.name = "fuzz";
  l.phys = data[0] % 8;
  l.flba = 1 + data[1] % 16;
  l.is_list = data[2] & 1;
  l.max_def = l.is_list ? 3 : (data[2] >> 1) & 1;
  l.max_rep = l.is_list;
  l.def_list = 1;
  l.def_rep = 2;
  static const int types[8] = {WEIR_TYPE_BOOL, WEIR_TYPE_INT32, WEIR_TYPE_INT64, WEIR_TYPE_INT64,
                               WEIR_TYPE_FLOAT32, WEIR_TYPE_FLOAT64, WEIR_TYPE_STRING,
                               WEIR_TYPE_BINARY};
  static const int convs[8] = {PQC_BOOL, PQC_COPY, PQC_COPY, PQC_INT96_NS,
                               PQC_COPY, PQC_COPY, PQC_BYTES, PQC_BYTES};
  l.type = types[l.phys];
  l.conv = convs[l.phys];
  if (l.is_list) {
    static const int dts[8] = {WEIR_DTYPE_INT32, WEIR_DTYPE_INT32, WEIR_DTYPE_INT64, WEIR_DTYPE_INT64,
                               WEIR_DTYPE_FLOAT32, WEIR_DTYPE_FLOAT64, WEIR_DTYPE_INT32, WEIR_DTYPE_INT32};
    l.phys = l.phys == PQ_INT64 || l.phys == PQ_DOUBLE || l.phys == PQ_FLOAT ? l.phys : PQ_INT32;
    l.type = WEIR_TYPE_LIST;
    l.dtype = dts[l.phys];
    l.conv = PQC_COPY;
  }
  pq_chunk c;
  memset(&c, 0, sizeof c);
  c.type = l.phys;
  c.codec = data[3] % 8;
  c.num_values = data[4] | data[5] << 8;
  int64_t rows = data[6] | data[7] << 8;
  weir__column col;
  memset(&col, 0, sizeof col);
  char err[600];
  weir__pq_read_chunk(&l, &c, data + 8, size - 8, rows, &col, err, sizeof err);
  weir__column_clear(&col);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 12 && !memcmp(data + size - 4, "PAR1", 4)) decode_file(data, size);
  else decode_chunk(data, size);
  return 0;
}
