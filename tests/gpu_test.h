/* Whether a test that needs a CUDA device runs, skips or fails.
 *
 * By default a build without CUDA, or a machine without a visible device,
 * skips such a test with a message, so the suite stays green there. With
 * WEIR_TEST_GPU=1 in the environment the GPU tests are selected (the
 * first-GPU-run script bench/gpu_first_run.sh, a GPU CI job): then a build
 * without CUDA or a machine without a device fails them, so that a run
 * meant to exercise a GPU cannot pass having tested nothing ("Tested: 0").
 * Call it inside a test body: it asks CUDA for the device count, which must
 * not happen in Criterion's runner before it forks. */
#ifndef WEIR_TESTS_GPU_TEST_H
#define WEIR_TESTS_GPU_TEST_H

#include <stdlib.h>
#include <string.h>

#include <weir.h>

static inline int gpu_test_selected(void) {
  const char *v = getenv("WEIR_TEST_GPU");
  return v && strcmp(v, "1") == 0;
}

#define GPU_TEST_NEED_DEVICE()                                                  \
  do {                                                                          \
    if (!weir_cuda_built()) {                                                   \
      cr_assert(!gpu_test_selected(),                                           \
                "WEIR_TEST_GPU=1, but weir was built without CUDA");            \
      cr_skip_test("weir was built without CUDA");                              \
    }                                                                           \
    if (weir_cuda_device_count() == 0) {                                        \
      cr_assert(!gpu_test_selected(),                                           \
                "WEIR_TEST_GPU=1, but no CUDA device is visible: %s",           \
                getenv("CUDA_VISIBLE_DEVICES") ? "CUDA_VISIBLE_DEVICES is set"  \
                                               : "check nvidia-smi");           \
      cr_skip_test("no CUDA device visible on this machine "                    \
                   "(WEIR_TEST_GPU=1 makes that a failure)");                   \
    }                                                                           \
  } while (0)

#endif /* WEIR_TESTS_GPU_TEST_H */
