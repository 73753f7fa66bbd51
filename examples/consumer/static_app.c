/* Linked against libweir.a: touches the HTTP and media readers, the text
 * filters, language id and the tokenizer, so the link needs every library
 * the static archive depends on (libcurl, FFmpeg, PCRE2, CLD2, utf8proc,
 * SentencePiece, libuv, zstd, zlib), exactly as an application would. */
#include <stdio.h>
#include <weir.h>

int main(void) {
  weir_pipeline *p = NULL;
  if (weir_pipeline_create(&p, NULL) != WEIR_OK) return 1;
  /* Nothing listens on port 9 and the file does not exist: both fail
   * cleanly, after going through curl and FFmpeg code (or the answer of a
   * build without them). */
  weir_read_options ro = WEIR_READ_OPTIONS_INIT;
  ro.max_retries = WEIR_RETRIES_NONE;
  weir_op *h = weir_read_jsonl(p, "http://127.0.0.1:9/none.jsonl", &ro);
  int http_rc = weir_pipeline_errcode(p);
  weir_op *v = weir_read_video(p, "/nonexistent/weir-static-check.mp4", NULL);
  int media_rc = weir_pipeline_errcode(p);
  /* Text operators made on a missing input fail at once, after linking
   * their code; so does a tokenizer file that does not exist. */
  weir_op *g = weir_text_quality_gopher(p, NULL, NULL);
  weir_op *l = weir_text_lang_id(p, NULL, NULL);
  weir_tokenizer *t = NULL;
  int tok_rc = weir_tokenizer_load("/nonexistent/weir-static-check.json", &t);
  weir_tokenizer_free(t);
  printf("weir %s static: http %s, media %s, text %s, tokenizer %s\n", weir_version_string(),
         h ? "op" : weir_err_name(http_rc), v ? "op" : weir_err_name(media_rc),
         g || l ? "op" : "refused", weir_err_name(tok_rc));
  weir_pipeline_destroy(p);
  return 0;
}
