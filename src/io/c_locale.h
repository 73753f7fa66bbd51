/* The "C" locale for number conversions (strtod_l and friends) that must
 * read and write '.' whatever locale the application set. */
#ifndef WEIR_IO_C_LOCALE_H
#define WEIR_IO_C_LOCALE_H

#include <locale.h>

/* Made on the first call and kept for the life of the process; any thread
 * may call it. */
locale_t weir__c_locale(void);

#endif /* WEIR_IO_C_LOCALE_H */
