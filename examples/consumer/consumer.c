/* The smallest program built against an installed weir: builds a block and
 * reads it back, to prove the headers, library and package files agree. */
#include <stdio.h>
#include <weir.h>

int main(void) {
  weir_builder *bld = NULL;
  weir_block *b = NULL;
  if (weir_builder_create(&bld) != WEIR_OK) return 1;
  weir_builder_add_column(bld, "x", WEIR_TYPE_INT64);
  for (int i = 0; i < 10; i++) weir_builder_append_int64(bld, 0, i);
  int rc = weir_builder_finish(bld, &b);
  weir_builder_destroy(bld);
  if (rc != WEIR_OK || weir_block_num_rows(b) != 10) return 1;
  printf("weir %s: a block of %zu rows\n", weir_version_string(), weir_block_num_rows(b));
  weir_block_unref(&b);
  return 0;
}
