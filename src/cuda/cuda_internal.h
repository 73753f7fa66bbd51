/* Internal interfaces of the CUDA component: the caching memory pool (whose
 * bookkeeping is plain C, shared with builds without CUDA), the CPU versions
 * of the built-in image kernels, and the launchers of their CUDA versions.
 * Nothing here includes a CUDA header, so tests and the builds without the
 * toolkit see the same declarations. */
#ifndef WEIR_CUDA_CUDA_INTERNAL_H
#define WEIR_CUDA_CUDA_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Caching memory pool ------------------------------------------------
 *
 * A pool hands out blocks of memory rounded up to a size class (four
 * classes per power of two, so at most 25% is wasted) and keeps freed
 * blocks on per-class free lists for the next request of that class, so a
 * steady stream of same-shaped batches allocates from the system only while
 * warming up. It only grows, unless told to give its cached blocks back
 * (weir__pool_trim), which it also does by itself once when the system
 * allocator fails. The pool is thread-safe: blocks are freed by whichever
 * thread drops the last reference to them.
 *
 * The raw allocator is a pair of callbacks (cudaMalloc, cudaHostAlloc, or
 * malloc in tests). `reuse` runs, outside the pool's lock, when a cached
 * block is handed out again: the CUDA layer uses it to order the new owner's
 * stream after the last use of the block (a stream-ordered allocator). */

typedef struct weir__pool_block weir__pool_block;
struct weir__pool_block {
  void *ptr;
  size_t size;               /* class size: at least what was asked for */
  int cls;                   /* size class index */
  void *event;               /* owner's use: a cudaEvent_t, created once */
  void *fence_stream;        /* stream whose work the event fences, or NULL */
  int fenced;                /* 1 when `event` was recorded at release */
  weir__pool_block *next;    /* free list link */
};

typedef struct weir__pool_ops {
  /* Returns `size` bytes, or NULL when the allocator is out of memory. */
  void *(*alloc)(void *user, size_t size);
  void (*free)(void *user, void *ptr, size_t size);
  /* Called for every block before it is freed for good (may be NULL). */
  void (*forget)(void *user, weir__pool_block *blk);
  /* Called when a cached block is handed out to `stream` (may be NULL);
   * returns 0, or a negative WEIR_E* code that makes the acquire fail. */
  int (*reuse)(void *user, weir__pool_block *blk, void *stream);
  void *user;
} weir__pool_ops;

#define WEIR__POOL_CLASSES 256

typedef struct weir__pool_stats {
  size_t reserved_bytes;     /* bytes held from the system allocator */
  size_t in_use_bytes;       /* class bytes handed out and not yet freed */
  size_t peak_reserved_bytes;
  uint64_t system_allocs;    /* calls to ops.alloc that succeeded */
  uint64_t reuses;           /* acquires served from a free list */
  uint64_t trims;            /* blocks given back to the system */
} weir__pool_stats;

typedef struct weir__pool {
  pthread_mutex_t mu;
  weir__pool_ops ops;
  size_t limit;              /* reserved bytes never exceed it; 0 = none */
  weir__pool_block *free_lists[WEIR__POOL_CLASSES];
  weir__pool_stats stats;
} weir__pool;

/* The size class of a request and the bytes that class holds; -1 when the
 * request is too large to describe. */
int weir__pool_class(size_t size, size_t *class_size);

int weir__pool_init(weir__pool *pool, const weir__pool_ops *ops, size_t limit);
/* Frees every cached block. Blocks still handed out are the caller's bug. */
void weir__pool_destroy(weir__pool *pool);
/* A block of at least `size` bytes for use on `stream` (opaque to the
 * pool). WEIR_ENOMEM when neither the cache nor the allocator has it. */
int weir__pool_acquire(weir__pool *pool, size_t size, void *stream,
                       weir__pool_block **out);
/* Puts `blk` back on its free list, from any thread. */
void weir__pool_release(weir__pool *pool, weir__pool_block *blk);
/* Frees every cached block; returns the bytes given back. */
size_t weir__pool_trim(weir__pool *pool);
void weir__pool_get_stats(weir__pool *pool, weir__pool_stats *out);

/* ---- Built-in image kernels ---------------------------------------------
 *
 * Images are uint8 tensors [H, W, C] (HWC, row-major), `n` of them
 * contiguous. The CPU versions below are the fallback when an operator runs
 * without a GPU and the reference the CUDA versions are tested against.
 *
 * Normalisation: out[c][y][x] = (in[y][x][c] / 255 - mean[c]) / std[c], as
 * torchvision's ToTensor + Normalize. Both versions compute it as
 * v * scale[c] + bias[c] with scale = 1 / (255 std) and bias = -mean / std,
 * rounding after the product and after the sum (no fused multiply-add), so
 * CPU and CUDA results are bit-identical; against the textbook formula they
 * differ by a few units in the last place (tolerance 1e-5 relative).
 *
 * Bilinear resize: half-pixel centres (OpenCV INTER_LINEAR, PyTorch
 * align_corners=False, no antialiasing), edges clamped, the result rounded
 * to nearest. Both versions evaluate the same float expressions with
 * rounding after every operation, so results agree exactly; the stated
 * tolerance is 1 (one uint8 step) for compilers that contract differently
 * (-ffp-contract=fast with FMA hardware). */

#define WEIR__NORMALIZE_MAX_CHANNELS 4

typedef struct weir__normalize_params {
  int channels;              /* 0: any count up to the maximum, every
                                channel scaled alike (no mean or std given) */
  float scale[WEIR__NORMALIZE_MAX_CHANNELS];
  float bias[WEIR__NORMALIZE_MAX_CHANNELS];
} weir__normalize_params;

/* Fills scale and bias from weir_normalize_options' channels, mean, std and
 * scale (0 = 1/255): out = in * scale[c] + bias[c]. WEIR_EINVAL for a std
 * that is negative or not finite, a mean or scale that is not finite, or a
 * channel count outside 0..WEIR__NORMALIZE_MAX_CHANNELS. A std of 0 is
 * taken as 1, as weir_image_normalize() does. */
int weir__normalize_params_init(weir__normalize_params *p, int channels,
                                const float *mean, const float *std,
                                float scale);

void weir__normalize_cpu(const uint8_t *in, float *out, size_t n, int h,
                         int w, const weir__normalize_params *p);

void weir__resize_cpu(const uint8_t *in, uint8_t *out, size_t n, int h, int w,
                      int c, int oh, int ow);

/* CUDA versions: queue the kernel on `stream` (a cudaStream_t) over device
 * pointers. WEIR_ENOTSUP in builds without CUDA; otherwise the launch
 * error, with a message in weir_last_errmsg(). */
int weir__normalize_cuda(const uint8_t *in, float *out, size_t n, int h, int w,
                         const weir__normalize_params *p, void *stream);
int weir__resize_cuda(const uint8_t *in, uint8_t *out, size_t n, int h, int w,
                      int c, int oh, int ow, void *stream);

/* ---- Parallel host copies ----------------------------------------------
 * memcpy split between the caller and a few helper threads shared by the
 * process (WEIR_CUDA_COPY_THREADS of them; default a quarter of the cores,
 * at most 3), for large copies into pinned staging buffers. Returns when
 * every byte is there. Small copies are done by the caller alone. */
void weir__cuda_parallel_copy(void *dst, const void *src, size_t n);
/* The number of helper threads (starting them if needed). */
int weir__copy_helpers(void);

/* ---- Arrow device export ----------------------------------------------- */

struct weir_block;
/* A new CUDA event (in a holder that also is the `cudaEvent_t *` the
 * ArrowDeviceArray's sync_event points to) that fires once every device
 * column of `b` is ready. WEIR_ENOTSUP without CUDA. */
int weir__cuda_sync_event_new(const struct weir_block *b, void **holder);
void weir__cuda_sync_event_free(void *holder);

#endif /* WEIR_CUDA_CUDA_INTERNAL_H */
