/* weir checked by the reference implementations, across the Arrow C Data
 * and C Stream interfaces and DLPack: pyarrow, DuckDB and PyTorch load
 * libweir (ctypes) in the tests' Python environment and exchange data
 * with it both ways (tests/interop/check_arrow.py, one group a test).
 * Pointers cannot cross a process boundary, so the exchange happens in
 * Python's process, and this runner checks its verdict. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "servers/servers.h"

/* Runs one group of check_arrow.py; its output goes to the test log. */
static void run_group(const char *group) {
  char why[1024];
  char *python = srv_venv_bin("python", why, sizeof why);
  if (!python) srv_missing(why);
  char cmd[8192];
  /* A sanitized libweir needs its runtime loaded first into an
   * uninstrumented Python; Python's own allocations are not ours to
   * report as leaks. */
  snprintf(cmd, sizeof cmd,
           "%s%s%s '%s' -c 'import pyarrow, duckdb, torch' 2>&1 && "
           "%s%s%s '%s' '%s/tests/interop/check_arrow.py' '%s' %s 2>&1",
           WEIR_TEST_PRELOAD[0] ? "LD_PRELOAD='" : "", WEIR_TEST_PRELOAD,
           WEIR_TEST_PRELOAD[0] ? "' ASAN_OPTIONS=detect_leaks=0 " : "",
           python,
           WEIR_TEST_PRELOAD[0] ? "LD_PRELOAD='" : "", WEIR_TEST_PRELOAD,
           WEIR_TEST_PRELOAD[0] ? "' ASAN_OPTIONS=detect_leaks=0 " : "",
           python, WEIR_TEST_SOURCE_DIR, WEIR_TEST_SHARED_LIB, group);
  free(python);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p, "cannot run %s", cmd);
  char out[16384] = "", line[1024];
  size_t used = 0;
  while (fgets(line, sizeof line, p)) {
    size_t n = strlen(line);
    /* Keep the tail: the verdict and a traceback's last lines. */
    if (used + n >= sizeof out) {
      memmove(out, out + sizeof out / 2, used - sizeof out / 2 + 1);
      used -= sizeof out / 2;
    }
    memcpy(out + used, line, n + 1);
    used += n;
  }
  int status = pclose(p);
  if (strstr(out, "ModuleNotFoundError") && !strstr(out, "check_arrow.py"))
    srv_missing("pyarrow, duckdb or torch is missing from the tests' Python "
                "environment (bash .ci/setup installs them)");
  char want[64];
  snprintf(want, sizeof want, "%s: ok", group);
  cr_assert(status == 0 && strstr(out, want), "check_arrow.py %s:\n%s",
            group, out);
}

TestSuite(interop, .timeout = 300);

/* pyarrow builds arrays of every type weir imports (int32/int64, floats,
 * bool, string, large_string, binary, large_binary, fixed_shape_tensor of
 * every element type, fixed-size lists, list/large_list of numbers), with
 * nulls, sliced with offsets (odd ones too), zero rows, a sliced struct
 * with its own nulls; weir's values, read from weir's own memory, equal
 * pyarrow's; the int64 column is pyarrow's memory (no copy); release runs
 * exactly once and pyarrow's allocations return to where they were. */
Test(interop, pyarrow_arrays_into_weir) { run_group("import"); }

/* weir exports blocks of every type (tensors and lists of every dtype,
 * bfloat16 included), whole, sliced and empty; pyarrow imports them,
 * validate(full=True) passes, values and types are equal, release runs
 * once after pyarrow lets go; back into weir, every dtype is kept. */
Test(interop, weir_blocks_into_pyarrow) { run_group("export"); }

/* Dictionary, struct, string_view, decimal, lists of strings, lists with
 * null elements, nested lists, narrow and unsigned integers, float16,
 * dates, timestamps, null: WEIR_ENOTSUP/EFORMAT naming the column and the
 * type, from weir_block_from_arrow and from a stream; release once. */
Test(interop, unsupported_types_fail_clearly) { run_group("unsupported"); }

/* Streams both ways: batches of varied sizes (an empty one too), a
 * producer that fails mid-stream (WEIR_EIO with its message), the empty
 * weir stream; each stream released once. */
Test(interop, streams_both_ways) { run_group("stream"); }

/* DuckDB queries weir's exported stream, and weir reads DuckDB's Arrow
 * output; counts and sums agree. */
Test(interop, duckdb_both_ways) { run_group("duckdb"); }

/* TENSOR columns (every dtype PyTorch 1.13 has, bfloat16 included, whole
 * and sliced) through DLPack into torch.utils.dlpack.from_dlpack: same
 * shape, dtype, strides, values and memory; the deleter runs once. */
Test(interop, dlpack_into_torch) { run_group("dlpack"); }
