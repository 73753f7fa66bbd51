/* The check that opens every network test: weir's network engine is there.
 * Network tests are only built when weir has libcurl (tests/CMakeLists.txt),
 * so an engine that still answers WEIR_ENOTSUP is a broken build: the test
 * fails through srv_missing (skips only with WEIR_TEST_ALLOW_SKIP=1). */
#ifndef WEIR_TESTS_NEED_CURL_H
#define WEIR_TESTS_NEED_CURL_H

#include <stdint.h>

#include "io/net/net.h"
#include "servers/servers.h"

static inline void srv_need_curl(void) {
  uint64_t size;
  char err[256];
  weir__net_options o = { 0 };
  o.max_retries = -1;
  if (weir__net_stat("http://127.0.0.1:1/", &o, &size, err, sizeof err) ==
      WEIR_ENOTSUP)
    srv_missing(err);
}

#endif /* WEIR_TESTS_NEED_CURL_H */
