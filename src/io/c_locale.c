/* The process-wide "C" locale of the text parsers and writers, made once
 * without a lock. */
#include <locale.h>

#include "io/c_locale.h"

locale_t weir__c_locale(void) {
  static locale_t loc;
  locale_t l = __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
  if (!l) {
    /* Two threads may race to make it: the loser frees its copy and uses
     * the winner's. */
    locale_t n = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t expected = 0;
    if (!__atomic_compare_exchange_n(&loc, &expected, n, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      freelocale(n);
      l = expected;
    } else {
      l = n;
    }
  }
  return l;
}
