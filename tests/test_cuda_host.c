/* Host-side parts of the CUDA component, run on every machine: the caching
 * memory pool's bookkeeping (with malloc as the allocator), the CPU image
 * kernels against straightforward reference computations, and the answers
 * of the GPU backend when there is no GPU or no CUDA. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <weir.h>

#include "cuda/cuda_internal.h"
#include "exec/gpu_backend.h"

/* ---- Pool ------------------------------------------------------------- */

typedef struct counting {
  int allocs, frees, reuses, forgets;
  size_t fail_above; /* the allocator refuses more live bytes than this */
  size_t live;
  void *last_stream;
  pthread_mutex_t mu;
} counting;

static void *c_alloc(void *user, size_t size) {
  counting *c = user;
  pthread_mutex_lock(&c->mu);
  int refuse = c->fail_above && c->live + size > c->fail_above;
  if (!refuse) {
    c->allocs++;
    c->live += size;
  }
  pthread_mutex_unlock(&c->mu);
  if (refuse) return NULL;
  void *p = malloc(size);
  memset(p, 0xab, size); /* every byte of the class is usable */
  return p;
}
static void c_free(void *user, void *ptr, size_t size) {
  counting *c = user;
  pthread_mutex_lock(&c->mu);
  c->frees++;
  c->live -= size;
  pthread_mutex_unlock(&c->mu);
  free(ptr);
}
static int c_reuse(void *user, weir__pool_block *blk, void *stream) {
  counting *c = user;
  (void)blk;
  pthread_mutex_lock(&c->mu);
  c->reuses++;
  c->last_stream = stream;
  pthread_mutex_unlock(&c->mu);
  return 0;
}
static void c_forget(void *user, weir__pool_block *blk) {
  counting *c = user;
  (void)blk;
  c->forgets++;
}

static void make_pool(weir__pool *pool, counting *c, size_t limit) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  weir__pool_ops ops = {c_alloc, c_free, c_forget, c_reuse, c};
  cr_assert_eq(weir__pool_init(pool, &ops, limit), WEIR_OK);
}

Test(cuda_pool, size_classes_waste_at_most_a_quarter) {
  size_t prev_cls_size = 0;
  int prev = -1;
  for (size_t s = 1; s < ((size_t)1 << 28); s = s * 3 / 2 + 7) {
    size_t cs;
    int cls = weir__pool_class(s, &cs);
    cr_assert_geq(cls, 0, "size %zu has a class", s);
    cr_assert_geq(cs, s, "class of %zu holds it (%zu)", s, cs);
    if (s > 512) cr_assert_leq((double)cs, 1.25 * (double)s + 1, "size %zu -> %zu", s, cs);
    cr_assert_geq(cls, prev, "classes grow with the size");
    if (cls == prev) cr_assert_eq(cs, prev_cls_size);
    prev = cls;
    prev_cls_size = cs;
  }
  size_t cs;
  cr_assert_eq(weir__pool_class(1024, &cs), 4);
  cr_assert_eq(cs, 1024u);
  cr_assert_eq(weir__pool_class(1025, &cs), 5);
  cr_assert_eq(cs, 1280u);
  cr_assert_lt(weir__pool_class(SIZE_MAX, NULL), 0, "absurd sizes have no class");
}

Test(cuda_pool, freed_blocks_are_reused_not_reallocated) {
  weir__pool pool;
  counting c;
  make_pool(&pool, &c, 0);
  weir__pool_block *a, *b, *d;
  cr_assert_eq(weir__pool_acquire(&pool, 1000000, (void *)0x1, &a), WEIR_OK);
  cr_assert_eq(weir__pool_acquire(&pool, 1000000, (void *)0x1, &b), WEIR_OK);
  cr_assert_neq(a->ptr, b->ptr);
  cr_assert_eq(c.allocs, 2);
  weir__pool_stats st;
  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.in_use_bytes, a->size + b->size);
  cr_assert_eq(st.reserved_bytes, st.in_use_bytes);

  void *aptr = a->ptr;
  weir__pool_release(&pool, a);
  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.in_use_bytes, b->size);
  /* Same class (990000 rounds to the same 1 MiB class): the cached block. */
  cr_assert_eq(weir__pool_acquire(&pool, 990000, (void *)0x2, &d), WEIR_OK);
  cr_assert_eq(d->ptr, aptr);
  cr_assert_eq(c.allocs, 2, "no new system allocation");
  cr_assert_eq(c.reuses, 1, "the reuse hook ran");
  cr_assert_eq(c.last_stream, (void *)0x2, "with the new owner's stream");
  /* Another class is not served by it. */
  weir__pool_release(&pool, d);
  weir__pool_block *e;
  cr_assert_eq(weir__pool_acquire(&pool, 5000, NULL, &e), WEIR_OK);
  cr_assert_neq(e->ptr, aptr);
  cr_assert_eq(c.allocs, 3);
  weir__pool_release(&pool, e);
  weir__pool_release(&pool, b);

  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.in_use_bytes, 0u);
  cr_assert_eq(st.system_allocs, 3u);
  cr_assert_eq(st.reuses, 1u);
  size_t reserved = st.reserved_bytes;
  cr_assert_eq(weir__pool_trim(&pool), reserved, "trim gives every cached byte back");
  cr_assert_eq(c.frees, 3);
  cr_assert_eq(c.forgets, 3);
  cr_assert_eq(c.live, 0u);
  weir__pool_destroy(&pool);
  pthread_mutex_destroy(&c.mu);
}

Test(cuda_pool, limit_trims_the_cache_then_fails_cleanly) {
  weir__pool pool;
  counting c;
  make_pool(&pool, &c, 3u << 20); /* 3 MiB */
  weir__pool_block *a, *b, *d;
  cr_assert_eq(weir__pool_acquire(&pool, 1u << 20, NULL, &a), WEIR_OK);
  cr_assert_eq(weir__pool_acquire(&pool, 1u << 20, NULL, &b), WEIR_OK);
  weir__pool_release(&pool, a);
  /* 1.5 MiB does not fit next to the 2 MiB reserved: the cached 1 MiB
   * block is given back to make room. */
  cr_assert_eq(weir__pool_acquire(&pool, 3u << 19, NULL, &d), WEIR_OK);
  cr_assert_eq(c.frees, 1);
  weir__pool_stats st;
  weir__pool_get_stats(&pool, &st);
  cr_assert_leq(st.reserved_bytes, 3u << 20);
  /* Now nothing is cached and the limit is reached. */
  weir__pool_block *e = (void *)0x1;
  cr_assert_eq(weir__pool_acquire(&pool, 1u << 20, NULL, &e), WEIR_ENOMEM);
  cr_assert_null(e);
  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.in_use_bytes, b->size + d->size, "a failure changes nothing");
  weir__pool_release(&pool, b);
  weir__pool_release(&pool, d);
  weir__pool_destroy(&pool);
  cr_assert_eq(c.live, 0u);
  pthread_mutex_destroy(&c.mu);
}

Test(cuda_pool, allocator_failure_retries_after_trim) {
  weir__pool pool;
  counting c;
  make_pool(&pool, &c, 0);
  c.fail_above = 5000; /* the "device" holds 5000 bytes */
  weir__pool_block *a, *b;
  cr_assert_eq(weir__pool_acquire(&pool, 4000, NULL, &a), WEIR_OK); /* 4096 */
  weir__pool_release(&pool, a);
  cr_assert_eq(weir__pool_acquire(&pool, 2000, NULL, &b), WEIR_OK,
               "the cached 4096-byte block was freed to make room");
  cr_assert_eq(c.frees, 1);
  weir__pool_block *x;
  cr_assert_eq(weir__pool_acquire(&pool, 4000, NULL, &x), WEIR_ENOMEM);
  weir__pool_stats st;
  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.reserved_bytes, b->size, "a failed allocation reserves nothing");
  weir__pool_release(&pool, b);
  weir__pool_destroy(&pool);
  pthread_mutex_destroy(&c.mu);
}

typedef struct hammer_arg {
  weir__pool *pool;
  int seed;
} hammer_arg;

static void *hammer(void *arg) {
  hammer_arg *h = arg;
  unsigned s = (unsigned)h->seed;
  weir__pool_block *held[8] = {0};
  for (int i = 0; i < 4000; i++) {
    s = s * 1103515245u + 12345u;
    int k = (int)((s >> 16) % 8);
    if (held[k]) {
      /* The owner's bytes are untouched by other threads. */
      if (((unsigned char *)held[k]->ptr)[0] != (unsigned char)(h->seed + k)) return (void *)1;
      weir__pool_release(h->pool, held[k]);
      held[k] = NULL;
    } else {
      size_t size = 512u << ((s >> 8) % 6);
      if (weir__pool_acquire(h->pool, size, NULL, &held[k]) != WEIR_OK) return (void *)1;
      ((unsigned char *)held[k]->ptr)[0] = (unsigned char)(h->seed + k);
    }
  }
  for (int k = 0; k < 8; k++) weir__pool_release(h->pool, held[k]);
  return NULL;
}

Test(cuda_pool, threads_share_a_pool_safely) {
  weir__pool pool;
  counting c;
  make_pool(&pool, &c, 0);
  pthread_t t[4];
  hammer_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (hammer_arg){&pool, 17 * (i + 1)};
    pthread_create(&t[i], NULL, hammer, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    cr_assert_null(r, "thread %d saw a block it did not own change", i);
  }
  weir__pool_stats st;
  weir__pool_get_stats(&pool, &st);
  cr_assert_eq(st.in_use_bytes, 0u);
  cr_assert_gt(st.reuses, 1000u, "a steady load is served from the cache");
  cr_assert_leq(st.system_allocs, 4u * 8u * 6u, "at most one block per slot and class");
  weir__pool_destroy(&pool);
  cr_assert_eq(c.live, 0u);
  pthread_mutex_destroy(&c.mu);
}

/* ---- CPU image kernels ------------------------------------------------- */

static void fill_random(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
}

Test(cuda_cpu_kernels, normalize_known_values) {
  /* A 1x2 image: black and white pixels, RGB. */
  const uint8_t img[6] = {0, 0, 0, 255, 255, 255};
  const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.25f, 1.0f};
  weir__normalize_params p;
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, std, 0.0f), WEIR_OK);
  float out[6];
  weir__normalize_cpu(img, out, 1, 1, 2, &p);
  /* CHW: channel c's plane is out[c*2 .. c*2+1]. */
  const float want[6] = {-1.0f, 1.0f, -2.0f, 2.0f, -0.5f, 0.5f};
  for (int i = 0; i < 6; i++)
    cr_assert_float_eq(out[i], want[i], 1e-6, "out[%d] = %g, want %g", i, out[i], want[i]);
}

Test(cuda_cpu_kernels, normalize_matches_the_formula_on_random_images) {
  const int n = 3, h = 7, w = 11;
  uint8_t *img = malloc((size_t)n * h * w * 3);
  float *out = malloc(sizeof(float) * (size_t)n * h * w * 3);
  fill_random(img, (size_t)n * h * w * 3, 42);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  weir__normalize_params p;
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, std, 0.0f), WEIR_OK);
  weir__normalize_cpu(img, out, (size_t)n, h, w, &p);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          double v = img[(((size_t)i * h + y) * w + x) * 3 + c];
          double ref = (v / 255.0 - mean[c]) / std[c];
          float got = out[(((size_t)i * 3 + c) * h + y) * w + x];
          cr_assert_leq(fabs(got - ref), 1e-5 * fmax(1.0, fabs(ref)),
                        "image %d c %d (%d,%d): %g vs %g", i, c, y, x, got, ref);
        }
  free(img);
  free(out);
}

Test(cuda_cpu_kernels, normalize_rejects_bad_std) {
  weir__normalize_params p;
  const float mean[3] = {0, 0, 0};
  const float zero[3] = {1, 0, 1}, neg[3] = {1, 1, -2}, nan_[3] = {NAN, 1, 1};
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, neg, 0.0f), WEIR_EINVAL);
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, nan_, 0.0f), WEIR_EINVAL);
  const float one[3] = {1, 1, 1};
  cr_assert_eq(weir__normalize_params_init(&p, 3, nan_, one, 0.0f), WEIR_EINVAL, "a NaN mean");
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, one, NAN), WEIR_EINVAL, "a NaN scale");
  cr_assert_eq(weir__normalize_params_init(&p, 5, mean, one, 0.0f), WEIR_EINVAL, "5 channels");
  cr_assert_eq(weir__normalize_params_init(&p, 3, mean, one, 0.0f), WEIR_OK);
  /* A zero std is taken as 1, as weir_image_normalize does. */
  weir__normalize_params q;
  cr_assert_eq(weir__normalize_params_init(&q, 3, mean, zero, 0.0f), WEIR_OK);
  cr_assert_eq(q.scale[1], p.scale[1]);
  /* A scale of its own: x * 2 / std. */
  cr_assert_eq(weir__normalize_params_init(&q, 3, mean, one, 2.0f), WEIR_OK);
  cr_assert_float_eq(q.scale[0], 2.0f, 1e-7);
}

Test(cuda_cpu_kernels, resize_same_size_is_identity) {
  const int h = 5, w = 9, c = 3;
  uint8_t in[5 * 9 * 3], out[5 * 9 * 3];
  fill_random(in, sizeof in, 7);
  weir__resize_cpu(in, out, 1, h, w, c, h, w);
  cr_assert_arr_eq(in, out, sizeof in);
}

Test(cuda_cpu_kernels, resize_halving_averages_2x2_cells) {
  const int h = 4, w = 6, c = 2;
  uint8_t in[4 * 6 * 2], out[2 * 3 * 2];
  fill_random(in, sizeof in, 99);
  weir__resize_cpu(in, out, 1, h, w, c, 2, 3);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      for (int k = 0; k < c; k++) {
        int s = in[((2 * y) * w + 2 * x) * c + k] + in[((2 * y) * w + 2 * x + 1) * c + k] +
                in[((2 * y + 1) * w + 2 * x) * c + k] + in[((2 * y + 1) * w + 2 * x + 1) * c + k];
        int want = (int)floor(s / 4.0 + 0.5);
        cr_assert_eq(out[(y * 3 + x) * c + k], want, "(%d,%d,%d)", y, x, k);
      }
}

Test(cuda_cpu_kernels, resize_doubling_known_values) {
  /* One row 0, 100 and one row 200, 40, single channel: doubling gives the
   * 1/4-3/4 blends of half-pixel centres, and clamps at the edges. */
  const uint8_t in[4] = {0, 100, 200, 40};
  uint8_t out[16];
  weir__resize_cpu(in, out, 1, 2, 2, 1, 4, 4);
  const uint8_t row0[4] = {0, 25, 75, 100};
  const uint8_t row3[4] = {200, 160, 80, 40};
  cr_assert_arr_eq(out, row0, 4);
  cr_assert_arr_eq(out + 12, row3, 4);
  /* Row 1 is 3/4 row 0 + 1/4 row 3: 50, 58.75, 76.25, 85. */
  const uint8_t row1[4] = {50, 59, 76, 85};
  cr_assert_arr_eq(out + 4, row1, 4);
}

/* A straightforward double-precision bilinear resize. */
static double ref_pixel(const uint8_t *in, int h, int w, int c, int oh, int ow,
                        int y, int x, int k) {
  double sy = (y + 0.5) * h / oh - 0.5, sx = (x + 0.5) * w / ow - 0.5;
  if (sy < 0) sy = 0;
  if (sx < 0) sx = 0;
  int y0 = (int)sy, x0 = (int)sx;
  if (y0 > h - 1) y0 = h - 1;
  if (x0 > w - 1) x0 = w - 1;
  int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
  double fy = sy - y0, fx = sx - x0;
  double a = in[(y0 * w + x0) * c + k], b = in[(y0 * w + x1) * c + k];
  double d = in[(y1 * w + x0) * c + k], e = in[(y1 * w + x1) * c + k];
  return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * d + fx * e);
}

Test(cuda_cpu_kernels, resize_matches_reference_within_one) {
  const int h = 37, w = 53, c = 3;
  const int sizes[][2] = {{224, 224}, {16, 20}, {37, 100}, {5, 53}};
  uint8_t *in = malloc((size_t)2 * h * w * c);
  fill_random(in, (size_t)2 * h * w * c, 1234);
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int oh = sizes[s][0], ow = sizes[s][1];
    uint8_t *out = malloc((size_t)2 * oh * ow * c);
    weir__resize_cpu(in, out, 2, h, w, c, oh, ow);
    for (int i = 0; i < 2; i++)
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
          for (int k = 0; k < c; k++) {
            double ref = ref_pixel(in + (size_t)i * h * w * c, h, w, c, oh, ow, y, x, k);
            int got = out[(((size_t)i * oh + y) * ow + x) * c + k];
            cr_assert_leq(fabs(got - ref), 0.5 + 1e-3,
                          "%dx%d image %d (%d,%d,%d): %d vs %.3f", oh, ow, i, y, x, k, got, ref);
          }
    free(out);
  }
  free(in);
}

/* ---- Backend answers --------------------------------------------------- */

Test(cuda_backend, device_count_agrees_with_the_build) {
  int n = weir_cuda_device_count();
  cr_assert_geq(n, 0);
  if (!weir_cuda_built()) cr_assert_eq(n, 0, "no devices without CUDA");
  const weir__gpu_backend *g = weir__gpu_backend_get();
  cr_assert_not_null(g);
  cr_assert_eq(g->device_count(), n);
}

Test(cuda_backend, check_without_a_device_says_why) {
  const weir__gpu_backend *g = weir__gpu_backend_get();
  char msg[256] = "";
  int rc = g->check(1.0, msg, sizeof msg);
  if (!weir_cuda_built()) {
    cr_assert_eq(rc, WEIR_ENOTSUP);
    cr_assert(strstr(msg, "without CUDA"), "message: %s", msg);
  } else if (weir_cuda_device_count() == 0) {
    cr_assert_eq(rc, WEIR_ENODEV);
    cr_assert(strstr(msg, "no CUDA device"), "message: %s", msg);
  } else {
    cr_assert_eq(rc, WEIR_OK, "%s", msg);
    /* More GPUs per worker than the machine has is refused. */
    rc = g->check(weir_cuda_device_count() + 1.0, msg, sizeof msg);
    cr_assert_eq(rc, WEIR_ENODEV);
  }
}

Test(cuda_backend, host_blocks_pass_to_host_unchanged) {
  weir_builder *bld;
  cr_assert_eq(weir_builder_create(&bld), WEIR_OK);
  cr_assert_eq(weir_builder_add_column(bld, "x", WEIR_TYPE_INT64), WEIR_OK);
  cr_assert_eq(weir_builder_append_int64(bld, 0, 7), WEIR_OK);
  weir_block *b, *h;
  cr_assert_eq(weir_builder_finish(bld, &b), WEIR_OK);
  weir_builder_destroy(bld);
  cr_assert_eq(weir_cuda_block_to_host(b, &h), WEIR_OK);
  cr_assert_eq(h, b, "a host block is returned as a new reference");
  weir_block_unref(&h);
  weir_block_unref(&b);
}

Test(cuda_backend, pinned_blocks_need_a_device) {
  if (weir_cuda_built() && weir_cuda_device_count() > 0)
    cr_skip_test("a CUDA device is present; test_cuda_gpu covers pinned blocks");
  int64_t shape[1] = {4};
  weir_block *b = (void *)1;
  void *d = (void *)1;
  int rc = weir_cuda_host_tensor_block("x", WEIR_DTYPE_FLOAT32, 1, shape, 2, &b, &d);
  cr_assert_eq(rc, weir_cuda_built() ? WEIR_ENODEV : WEIR_ENOTSUP);
  cr_assert_null(b);
  cr_assert_null(d);
  cr_assert_neq(weir_last_errmsg()[0], '\0');
}

/* ---- Parallel staging copies ------------------------------------------- */

typedef struct copy_arg {
  size_t n;
  unsigned seed;
  int ok;
} copy_arg;

static void *copy_many(void *arg) {
  copy_arg *a = arg;
  uint8_t *src = malloc(a->n), *dst = malloc(a->n);
  a->ok = 1;
  for (int round = 0; round < 5; round++) {
    fill_random(src, a->n, a->seed + (unsigned)round);
    memset(dst, 0, a->n);
    weir__cuda_parallel_copy(dst, src, a->n);
    if (memcmp(dst, src, a->n) != 0) a->ok = 0;
  }
  free(src);
  free(dst);
  return NULL;
}

Test(cuda_copier, parallel_copies_are_exact) {
  setenv("WEIR_CUDA_COPY_THREADS", "3", 1);
  cr_assert_eq(weir__copy_helpers(), 3);
  const size_t sizes[] = {0, 1, 4095, (size_t)512 << 10, ((size_t)3 << 20) + 17, (size_t)8 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    copy_arg a = {sizes[i], (unsigned)i, 0};
    copy_many(&a);
    cr_assert(a.ok, "copy of %zu bytes", sizes[i]);
  }
  /* Several stream workers share the helpers. */
  pthread_t t[4];
  copy_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (copy_arg){((size_t)5 << 20) + (size_t)i * 4099, 100u + (unsigned)i, 0};
    pthread_create(&t[i], NULL, copy_many, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    cr_assert(args[i].ok, "thread %d", i);
  }
}

Test(cuda_backend, utilization_without_a_device_says_why) {
  if (weir_cuda_built() && weir_cuda_device_count() > 0)
    cr_skip_test("a CUDA device is present; test_cuda_gpu covers utilisation");
  double u = 5;
  int rc = weir_cuda_device_utilization(0, &u);
  cr_assert_eq(rc, weir_cuda_built() ? WEIR_ENODEV : WEIR_ENOTSUP);
  cr_assert_eq(u, 0);
  cr_assert_eq(weir_cuda_device_utilization(0, NULL), weir_cuda_built() ? WEIR_EINVAL : WEIR_ENOTSUP);
}

#ifndef __SANITIZE_THREAD__ /* TSan would shadow the whole 3 GiB mapping */
/* A row of 98304 pixels of 32768 channels: pixel offsets pass 2^31, where
 * int index math wrapped (issue 20, defect 11). The image is a mapping
 * that is never backed except where the kernel reads. */
Test(cuda_cpu_kernels, resize_indexes_images_past_two_gib) {
  const int h = 1, w = 98304, c = 32768, oh = 1, ow = 2;
  const size_t bytes = (size_t)h * w * c;
  uint8_t *in = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  cr_assert_neq(in, MAP_FAILED, "cannot map %zu bytes", bytes);
  /* Output x = 0 blends source pixels 24575 and 24576, x = 1 blends 73727
   * and 73728 (half-pixel centres, weight 0.5): 10 and 20 give 15. */
  const int src_px[4] = {24575, 24576, 73727, 73728};
  for (int i = 0; i < 4; i++)
    memset(in + (size_t)src_px[i] * c, i % 2 ? 20 : 10, (size_t)c);
  cr_assert_gt((size_t)src_px[3] * c, (size_t)INT32_MAX, "the test must pass 2^31");
  uint8_t *out = malloc((size_t)oh * ow * c);
  weir__resize_cpu(in, out, 1, h, w, c, oh, ow);
  for (size_t k = 0; k < (size_t)ow * c; k++)
    cr_assert_eq(out[k], 15, "byte %zu: %d", k, out[k]);
  free(out);
  munmap(in, bytes);
}
#endif
