/* Tables taken from the references weir's text operators match: spaCy's
 * English tokenizer rules and DataTrove's punctuation sets
 * (tables_gen.c, written by tools/gen_text_tables.py). */
#ifndef WEIR_TEXT_TABLES_H
#define WEIR_TEXT_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* A tokenizer exception: `key` is split into pieces of these byte lengths. */
typedef struct weir__special {
  const char *key;
  int npieces;
  uint8_t lens[8];
} weir__special;

extern const char weir__spacy_prefix_re[];
extern const char weir__spacy_suffix_re[];
extern const char weir__spacy_infix_re[];
extern const char weir__spacy_url_re[];
extern const weir__special weir__spacy_specials[];   /* sorted by key (bytes) */
extern const size_t weir__spacy_num_specials;

/* spaCy's sentencizer punctuation, sorted by bytes. */
extern const char *const weir__spacy_sent_punct[];
extern const size_t weir__spacy_num_sent_punct;

/* Sorted code points. */
extern const uint32_t weir__dt_punctuation[];
extern const size_t weir__dt_num_punctuation;
extern const uint32_t weir__dt_terminal_punctuation[];
extern const size_t weir__dt_num_terminal_punctuation;

#endif /* WEIR_TEXT_TABLES_H */
