// CLD2's detector behind the C interface of cld2.h.
#include <cstdio>  // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>

#include "text/cld2/cld2.h"
#include "weir/error.h"

extern "C" int weir__cld2_available(void) { return 1; }

extern "C" int weir__cld2_detect(const char *s, size_t len, const char *codes[3],
                                 int percent[3]) {
  CLD2::Language lang3[3];
  int text_bytes = 0;
  bool reliable = false;
  // CLD2 takes an int length; longer texts are judged on their first 2 GB.
  int n = len > 0x7fffffff ? 0x7fffffff : (int)len;
  CLD2::DetectLanguageSummary(s, n, true, lang3, percent, &text_bytes, &reliable);
  for (int i = 0; i < 3; i++)
    codes[i] = CLD2::LanguageCode(lang3[i]);
  return WEIR_OK;
}
