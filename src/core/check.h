/* Invariants, checked in checked builds and compiled out
 * of release ones.
 *
 * A checked build is one without NDEBUG (CMake's Debug, the sanitizer
 * builds of CI) or one configured with -DWEIR_CHECKS=ON. There a broken
 * invariant prints the file, the line and the message, then aborts: an
 * invariant that fails is a bug in weir, never a condition to recover from,
 * so it is not clamped or ignored. In a release build the macros expand to
 * nothing and their arguments are not evaluated, so they cost nothing and
 * must have no side effects. */
#ifndef WEIR_CORE_CHECK_H
#define WEIR_CORE_CHECK_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#if !defined(NDEBUG) && !defined(WEIR_CHECKS)
#define WEIR_CHECKS 1
#endif

/* Prints where and what broke, then aborts (core/check.c). */
void weir__invariant_failed(const char *file, int line, const char *cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5), noreturn))
#endif
    ;

#if defined(WEIR_CHECKS) && WEIR_CHECKS

/* `cond` must hold; otherwise the message (printf-style) says what broke. */
#define WEIR_INVARIANT(cond, ...)                                                    \
  do {                                                                               \
    if (!(cond))                                                                     \
      weir__invariant_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
  } while (0)

/* The calling thread holds `mu` (a non-recursive mutex: trylock fails with
 * EBUSY when it is locked, also by the caller). It catches a function that
 * is documented "under p->mu" being called without any lock held, which is
 * the mistake that happens; it cannot tell which thread holds it. */
#define WEIR_LOCK_HELD(mu)                                                           \
  do {                                                                               \
    pthread_mutex_t *weir__m_ = (mu);                                                \
    if (pthread_mutex_trylock(weir__m_) == 0) {                                      \
      pthread_mutex_unlock(weir__m_);                                                \
      weir__invariant_failed(__FILE__, __LINE__, "locked(" #mu ")",                  \
                             "called without " #mu " held");                         \
    }                                                                                \
  } while (0)

/* `a - b` of unsigned counts, checking that it does not go below zero. */
#define WEIR_SUB(a, b, what)                                                         \
  do {                                                                               \
    WEIR_INVARIANT((b) <= (a), "%s: taking %zu from %zu goes below zero", (what),    \
                   (size_t)(b), (size_t)(a));                                        \
    (a) -= (b);                                                                      \
  } while (0)

#else

#define WEIR_INVARIANT(cond, ...) ((void)0)
#define WEIR_LOCK_HELD(mu) ((void)0)
/* Unchecked, a count that would go below zero stays at zero rather than
 * wrap to 2^64, which would hold every source back for ever: the cheaper
 * way for a release build to live with a bug a checked build reports. */
#define WEIR_SUB(a, b, what) ((a) = (b) > (a) ? 0 : (a) - (b))

#endif

#endif /* WEIR_CORE_CHECK_H */
