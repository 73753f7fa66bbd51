/* A small stand-in for Criterion's test API, used only by ThreadSanitizer
 * builds: Criterion's runner cannot start under TSan (its inheritable
 * arena wants memory TSan reserves; Criterion issue #274). It covers the
 * parts of the API weir's tests use, and runs each test in a forked child
 * as Criterion does, so one failing test cannot hide another. */
#ifndef WEIR_TSAN_CRITERION_H
#define WEIR_TSAN_CRITERION_H

#include <math.h>
#include <stddef.h>
#include <string.h>

struct weir_tr_extra {
  int sentinel_;
  void (*init)(void);
  void (*fini)(void);
  double timeout;
  int disabled;
  const char *description;
  int signal;
  int exit_code;
};

void weir_tr_register(const char *suite, const char *name, void (*fn)(void),
                      const struct weir_tr_extra *extra);
void weir_tr_register_suite(const char *suite, const struct weir_tr_extra *extra);
void weir_tr_check(int ok, int fatal, const char *file, int line,
                   const char *expr, const char *fmt, ...);
void weir_tr_skip(const char *fmt, ...);
void weir_tr_log(const char *fmt, ...);

#define Test(suite, name, ...)                                                 \
  static void weir_tr_fn_##suite##_##name(void);                               \
  static const struct weir_tr_extra weir_tr_x_##suite##_##name = {             \
      0, __VA_ARGS__};                                                         \
  __attribute__((constructor)) static void weir_tr_reg_##suite##_##name(void) { \
    weir_tr_register(#suite, #name, weir_tr_fn_##suite##_##name,               \
                     &weir_tr_x_##suite##_##name);                             \
  }                                                                            \
  static void weir_tr_fn_##suite##_##name(void)

#define TestSuite(suite, ...)                                                  \
  static const struct weir_tr_extra weir_tr_suite_##suite = {0, __VA_ARGS__};  \
  __attribute__((constructor)) static void weir_tr_regsuite_##suite(void) {    \
    weir_tr_register_suite(#suite, &weir_tr_suite_##suite);                    \
  }                                                                            \
  struct weir_tr_dummy_##suite

#define weir_tr_(cond, fatal, ...) \
  weir_tr_check(!!(cond), fatal, __FILE__, __LINE__, #cond, "" __VA_ARGS__)

#define cr_assert(cond, ...) weir_tr_((cond), 1, __VA_ARGS__)
#define cr_expect(cond, ...) weir_tr_((cond), 0, __VA_ARGS__)
#define cr_assert_not(cond, ...) weir_tr_(!(cond), 1, __VA_ARGS__)
#define cr_expect_not(cond, ...) weir_tr_(!(cond), 0, __VA_ARGS__)
#define cr_assert_fail(...) weir_tr_(0, 1, __VA_ARGS__)
#define cr_fail(...) weir_tr_(0, 1, __VA_ARGS__)
#define cr_expect_fail(...) weir_tr_(0, 0, __VA_ARGS__)
#define cr_fatal(...) weir_tr_(0, 1, __VA_ARGS__)

#define cr_assert_eq(a, b, ...) weir_tr_((a) == (b), 1, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) weir_tr_((a) != (b), 1, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) weir_tr_((a) < (b), 1, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) weir_tr_((a) <= (b), 1, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) weir_tr_((a) > (b), 1, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) weir_tr_((a) >= (b), 1, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) weir_tr_((a) == (b), 0, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) weir_tr_((a) != (b), 0, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) weir_tr_((a) < (b), 0, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) weir_tr_((a) <= (b), 0, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) weir_tr_((a) > (b), 0, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) weir_tr_((a) >= (b), 0, __VA_ARGS__)
#define cr_assert_null(p, ...) weir_tr_((p) == NULL, 1, __VA_ARGS__)
#define cr_assert_not_null(p, ...) weir_tr_((p) != NULL, 1, __VA_ARGS__)
#define cr_expect_null(p, ...) weir_tr_((p) == NULL, 0, __VA_ARGS__)
#define cr_expect_not_null(p, ...) weir_tr_((p) != NULL, 0, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) weir_tr_(strcmp((a), (b)) == 0, 1, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) weir_tr_(strcmp((a), (b)) != 0, 1, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) weir_tr_(strcmp((a), (b)) == 0, 0, __VA_ARGS__)
#define cr_assert_str_empty(a, ...) weir_tr_((a)[0] == '\0', 1, __VA_ARGS__)
#define cr_assert_str_not_empty(a, ...) weir_tr_((a)[0] != '\0', 1, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...) weir_tr_(memcmp((a), (b), (n)) == 0, 1, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...) weir_tr_(fabs((double)(a) - (double)(b)) <= (eps), 1, __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...) weir_tr_(fabs((double)(a) - (double)(b)) <= (eps), 0, __VA_ARGS__)
#define cr_assert_float_neq(a, b, eps, ...) weir_tr_(fabs((double)(a) - (double)(b)) > (eps), 1, __VA_ARGS__)

#define cr_skip_test(...) weir_tr_skip("" __VA_ARGS__)
#define cr_skip(...) weir_tr_skip("" __VA_ARGS__)
#define cr_log_info(...) weir_tr_log(__VA_ARGS__)
#define cr_log_warn(...) weir_tr_log(__VA_ARGS__)
#define cr_log_error(...) weir_tr_log(__VA_ARGS__)

#endif /* WEIR_TSAN_CRITERION_H */
