/* Shared by the Parquet tests: pyarrow-written fixtures made once per
 * build tree, the reference tool (tests/parquet/pq_tool.py) run in the
 * tests' Python environment, and pipelines that read Parquet into one
 * block or write it as JSONL. */
#ifndef WEIR_TEST_PARQUET_UTIL_H
#define WEIR_TEST_PARQUET_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <weir.h>

/* The tests' Python ($WEIR_VENV or ~/.cache/weir-venv). Missing, the test
 * fails unless WEIR_TEST_ALLOW_SKIP=1, when it is skipped. */
static inline const char *pq_python(void) {
  static char path[600];
  const char *venv = getenv("WEIR_VENV");
  if (venv) snprintf(path, sizeof path, "%s/bin/python", venv);
  else snprintf(path, sizeof path, "%s/.cache/weir-venv/bin/python", getenv("HOME") ? getenv("HOME") : "");
  if (access(path, X_OK) != 0) {
    const char *allow = getenv("WEIR_TEST_ALLOW_SKIP");
    if (allow && !strcmp(allow, "1")) cr_skip_test("no Python environment at %s", path);
    cr_assert_fail("no Python environment at %s (run .ci/setup, or set WEIR_TEST_ALLOW_SKIP=1)", path);
  }
  return path;
}

/* Runs pq_tool.py with `args`; its exit status. */
static inline int pq_tool(const char *args) {
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/parquet/pq_tool.py' %s", pq_python(),
           WEIR_TEST_SOURCE_DIR, args);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 255;
}

/* The fixture folder, made once per build tree: written to a private
 * folder, then renamed into place, so parallel tests never see half of it. */
static inline const char *pq_fixtures(void) {
  static char dir[600];
  snprintf(dir, sizeof dir, "%s/parquet-fixtures-v4", WEIR_TEST_BINARY_DIR);
  char stamp[700];
  snprintf(stamp, sizeof stamp, "%s/big.parquet", dir);
  if (access(stamp, R_OK) == 0) return dir;
  char tmp[700], args[1500];
  snprintf(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
  snprintf(args, sizeof args, "make '%s'", tmp);
  cr_assert_eq(pq_tool(args), 0, "making the pyarrow fixtures failed");
  if (rename(tmp, dir) != 0) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    (void)system(cmd);
  }
  cr_assert_eq(access(stamp, R_OK), 0);
  return dir;
}

static inline const char *pq_fixture(const char *name) {
  static char buf[4][800];
  static int k;
  char *p = buf[k++ & 3];
  snprintf(p, 800, "%s/%s", pq_fixtures(), name);
  return p;
}

static inline weir_pipeline *pq_pipeline(void) {
  weir_pipeline *p;
  weir_pipeline_options o = {.version = WEIR_PIPELINE_OPTIONS_VERSION, .num_cpus = 2};
  cr_assert_eq(weir_pipeline_create(&p, &o), WEIR_OK);
  return p;
}

static inline int pq_pass(void *user, weir_block *in, weir_emit *out) {
  (void)user;
  return weir_emit_block(out, weir_block_ref(in));
}

/* Runs `op` and concatenates its blocks in order into `*all` (NULL when
 * none). Returns the run's status. */
static inline int pq_collect(weir_pipeline *p, weir_op *op, weir_block **all) {
  *all = NULL;
  if (!op) return WEIR_EINVAL;
  weir_op_options oo = {.version = WEIR_OP_OPTIONS_VERSION, .num_cpus = 1.0,
                        .preserve_order = 1};
  op = weir_map_batches(p, op, "in_order", pq_pass, NULL, &oo);
  weir_iter *it;
  int rc = weir_pipeline_iter(p, op, NULL, &it);
  if (rc) return rc;
  weir_block **bs = NULL, *b;
  size_t n = 0;
  while ((rc = weir_iter_next(it, &b)) == WEIR_OK) {
    bs = realloc(bs, (n + 1) * sizeof *bs);
    bs[n++] = b;
  }
  weir_iter_destroy(it);
  if (rc == WEIR_EOF) {
    rc = WEIR_OK;
    if (n) rc = weir_block_concat(bs, n, all);
  }
  for (size_t i = 0; i < n; i++) weir_block_unref(&bs[i]);
  free(bs);
  return rc;
}

#endif /* WEIR_TEST_PARQUET_UTIL_H */
