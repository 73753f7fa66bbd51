#!/usr/bin/env bash
# The first run of weir's CUDA component on a GPU machine, in the order
# issue 20 asks for, in a few minutes of device time (each step has its own
# time limit; the whole script stays under about 8 minutes):
#
#   1. nvidia-smi: the device, the driver (CUDA 13 needs >= 580), MIG state;
#   2. compute-sanitizer memcheck (with leak check) over test_cuda_gpu;
#   3. the GPU tests: test_cuda_arrow_device, test_exec_gpu, test_cuda_ops
#      (and test_cuda_gpu plainly), with WEIR_TEST_GPU=1 so that a missing
#      device FAILS them instead of skipping;
#   4. bench_cuda: staging H2D against pinned cudaMemcpy (goal >= 0.9x),
#      images/s with 1, 2, 4 streams, GPU busy fraction, video pipeline.
#
# Usage: bench/gpu_first_run.sh [build_dir]   (default: build)
# The build directory is used as it is when it holds the test programs (a
# build carried to the machine); otherwise it is configured and built here
# with WEIR_WITH_CUDA=ON for the local GPU's architecture. Everything printed
# also goes to $OUT (or <build>/gpu-first-run) for quoting. Exit status: 0
# when every step passed, 1 otherwise (later steps still run).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LOG=${OUT:-$BUILD/gpu-first-run}
mkdir -p "$LOG"
status=0
step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
fail() { echo "FAILED: $*"; status=1; }

{
step "1. nvidia-smi"
if command -v nvidia-smi >/dev/null; then
  timeout 30 nvidia-smi || fail "nvidia-smi"
  timeout 30 nvidia-smi --query-gpu=index,name,driver_version,mig.mode.current,memory.total,compute_cap --format=csv
  drv=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
  major=${drv%%.*}
  if [ -n "$major" ] && [ "$major" -lt 580 ] 2>/dev/null; then
    fail "driver $drv is older than 580, which CUDA 13 needs"
  else
    echo "driver $drv: ok for CUDA 13"
  fi
else
  fail "nvidia-smi not found: no NVIDIA driver on this machine"
fi

step "build"
if [ -x "$BUILD/tests/test_cuda_gpu" ] && [ -x "$BUILD/bench/bench_cuda" ]; then
  echo "using the build in $BUILD"
else
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d .)
  timeout 300 cmake -S . -B "$BUILD" -DWEIR_WITH_CUDA=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      ${arch:+-DCMAKE_CUDA_ARCHITECTURES=$arch} -DWEIR_BUILD_EXAMPLES=OFF >/dev/null &&
    timeout 300 cmake --build "$BUILD" -j"$(nproc)" --target test_cuda_gpu \
      test_cuda_arrow_device test_exec_gpu test_cuda_ops bench_cuda >/dev/null ||
    fail "build"
fi

export WEIR_TEST_GPU=1   # a test that finds no device fails (tests/gpu_test.h)

step "2. compute-sanitizer memcheck: test_cuda_gpu"
if command -v compute-sanitizer >/dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  # Criterion forks a process per test: the sanitizer follows them all.
  timeout 240 "$cs" --tool memcheck --leak-check full --target-processes all \
      --error-exitcode 97 "$BUILD/tests/test_cuda_gpu" --jobs 1 ||
    fail "compute-sanitizer memcheck over test_cuda_gpu (exit $?)"
else
  fail "compute-sanitizer not found"
fi

step "3. GPU tests"
for t in test_cuda_arrow_device test_exec_gpu test_cuda_ops test_cuda_gpu; do
  echo "-- $t"
  timeout 120 "$BUILD/tests/$t" --jobs 1 || fail "$t"
done

step "4. bench_cuda"
# 4096 images per run keeps the benchmark near a minute on one GPU.
timeout 240 "$BUILD/bench/bench_cuda" 4096 | tee "$LOG/bench_cuda.txt"
[ "${PIPESTATUS[0]}" = 0 ] || fail "bench_cuda"
# Without a device bench_cuda says "skipped" and exits 0: here that fails.
grep -q '^bench_cuda: skipped' "$LOG/bench_cuda.txt" && fail "bench_cuda found no device"

step "done"
if [ $status = 0 ]; then echo "every step passed"; else echo "some steps FAILED (see above)"; fi
exit $status
} 2>&1 | tee "$LOG/first-run.txt"
exit "${PIPESTATUS[0]}"
