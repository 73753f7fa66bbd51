/* PII: precision and recall of weir_pii_scan per entity type on a
 * labelled corpus generated here (planted entities in prose, with near
 * misses: version numbers, invalid card numbers and IBANs, dates, times,
 * MAC addresses, C++ scopes, package versions), and the redaction
 * operator (tags, counters, count columns, annotate mode). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir.h>

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static int rint_(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }
static char rdigit(void) { return (char)('0' + rint_(0, 9)); }
static char rupper(void) { return (char)('A' + rint_(0, 25)); }
static char ralnum_up(void) { return rint_(0, 1) ? rupper() : rdigit(); }

typedef struct doc {
  char *s;
  size_t len, cap;
  struct planted { unsigned type; size_t a, b; } *p;
  size_t np, pcap;
} doc;

static void put(doc *d, const char *s) {
  size_t n = strlen(s);
  if (d->len + n + 1 > d->cap) {
    d->cap = (d->len + n + 1) * 2;
    d->s = realloc(d->s, d->cap);
  }
  memcpy(d->s + d->len, s, n + 1);
  d->len += n;
}

static void plant(doc *d, unsigned type, const char *s, size_t off, size_t n) {
  if (d->np == d->pcap) {
    d->pcap = d->pcap ? d->pcap * 2 : 16;
    d->p = realloc(d->p, d->pcap * sizeof *d->p);
  }
  d->p[d->np++] = (struct planted){type, d->len + off, d->len + off + n};
  put(d, s);
}

static const char *filler[] = {"The report was filed on time and reviewed by the team.",
                               "Please contact support if anything looks wrong.",
                               "Results are summarised in the table below.",
                               "We shipped the update after two weeks of testing.",
                               "Nothing else changed in this release."};

static void luhn_fix(char *d, int n, int valid) {
  int sum = 0;
  for (int i = n - 2, dbl = 1; i >= 0; i--, dbl = !dbl) {
    int v = d[i] - '0';
    if (dbl && (v *= 2) > 9)
      v -= 9;
    sum += v;
  }
  int check = (10 - sum % 10) % 10;
  if (!valid)
    check = (check + rint_(1, 9)) % 10;
  d[n - 1] = (char)('0' + check);
}

static void make_card(char *out, int valid) {
  char d[20];
  int n = 16, kind = rint_(0, 3);
  const char *pre[] = {"4", "5", "37", "6011"};
  if (kind == 1)
    snprintf(d, sizeof d, "5%d", rint_(1, 5));
  else
    snprintf(d, sizeof d, "%s", pre[kind]);
  if (kind == 2)
    n = 15;
  for (int i = (int)strlen(d); i < n; i++)
    d[i] = rdigit();
  d[n] = 0;
  luhn_fix(d, n, valid);
  int sep = rint_(0, 2);
  char s = sep == 0 ? ' ' : sep == 1 ? '-' : 0;
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    int brk = n == 15 ? (i == 4 || i == 10) : (i && i % 4 == 0);
    if (brk && s)
      out[o++] = s;
    out[o++] = d[i];
  }
  out[o] = 0;
}

static void make_iban(char *out, int valid) {
  const char *cc[] = {"DE", "GB", "FR", "NL"};
  const int lens[] = {22, 22, 27, 18};
  int k = rint_(0, 3);
  char b[40];
  int n = lens[k];
  b[0] = cc[k][0];
  b[1] = cc[k][1];
  b[2] = b[3] = '0';
  for (int i = 4; i < n; i++)
    b[i] = (k == 1 || k == 3) && i < 8 ? rupper() : rdigit();
  /* check digits: 98 - (BBAN + CC + "00") mod 97 */
  unsigned rem = 0;
  for (int j = 0; j < n; j++) {
    char ch = b[(j + 4) % n];
    rem = ch >= 'A' ? (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97 : (rem * 10 + (unsigned)(ch - '0')) % 97;
  }
  unsigned check = 98 - rem;
  if (!valid)
    check = check == 2 ? 3 : check - 1;
  b[2] = (char)('0' + check / 10);
  b[3] = (char)('0' + check % 10);
  int grouped = rint_(0, 1);
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    if (grouped && i && i % 4 == 0)
      out[o++] = ' ';
    out[o++] = b[i];
  }
  out[o] = 0;
}

#define NTYPES 9
static const unsigned types[NTYPES] = {WEIR_PII_EMAIL, WEIR_PII_IPV4, WEIR_PII_IPV6,
                                       WEIR_PII_PHONE, WEIR_PII_CREDIT_CARD, WEIR_PII_IBAN,
                                       WEIR_PII_SSN, WEIR_PII_URL_CREDENTIALS,
                                       WEIR_PII_CLOUD_KEY};
static const char *names[NTYPES] = {"email", "ipv4", "ipv6", "phone", "credit_card",
                                    "iban", "ssn", "url_credentials", "cloud_key"};

/* One planted entity of type t, in a sentence. */
static void plant_entity(doc *d, int t) {
  char e[256], s[512];
  const char *before = "Reach it at ", *after = " today.";
  switch (t) {
  case 0: {
    const char *dom[] = {"example.com", "mail.example.org", "corp.co.uk", "uni.edu", "x.io"};
    snprintf(e, sizeof e, "%c%c%c%s%d@%s", 'a' + rint_(0, 25), 'a' + rint_(0, 25),
             'a' + rint_(0, 25), rint_(0, 1) ? ".smith" : "+news", rint_(1, 99),
             dom[rint_(0, 4)]);
    before = rint_(0, 1) ? "Write to " : "Contact: ";
    break;
  }
  case 1:
    snprintf(e, sizeof e, "%d.%d.%d.%d", rint_(1, 223), rint_(0, 255), rint_(0, 255),
             rint_(1, 254));
    before = rint_(0, 1) ? "The server at " : "Requests came from ";
    break;
  case 2:
    if (rint_(0, 1))
      snprintf(e, sizeof e, "2a%02x:%x:%x:%x:%x:%x:%x:%x", rint_(0, 255), rint_(0, 65535),
               rint_(0, 65535), rint_(0, 65535), rint_(0, 65535), rint_(0, 65535),
               rint_(0, 65535), rint_(1, 65535));
    else
      snprintf(e, sizeof e, "2001:%x:%x::%x", rint_(0x1000, 0xffff), rint_(0, 65535),
               rint_(1, 65535));
    before = "Bound to ";
    break;
  case 3: {
    int f = rint_(0, 5);
    int a = rint_(201, 989), x = rint_(200, 999), n = rint_(0, 9999);
    if (f == 0) snprintf(e, sizeof e, "(%d) %d-%04d", a, x, n);
    else if (f == 1) snprintf(e, sizeof e, "%d-%d-%04d", a, x, n);
    else if (f == 2) snprintf(e, sizeof e, "%d.%d.%04d", a, x, n);
    else if (f == 3) snprintf(e, sizeof e, "+1 %d %d %04d", a, x, n);
    else if (f == 4) snprintf(e, sizeof e, "+44 20 %04d %04d", rint_(1000, 9999), n);
    else snprintf(e, sizeof e, "+49 30 %d %04d", rint_(100, 999), n);
    before = "Call ";
    break;
  }
  case 4:
    make_card(e, 1);
    before = "Card number ";
    break;
  case 5:
    make_iban(e, 1);
    before = "Pay to IBAN ";
    break;
  case 6: {
    int area;
    do
      area = rint_(1, 899);
    while (area == 666);
    snprintf(e, sizeof e, "%03d-%02d-%04d", area, rint_(1, 99), rint_(1, 9999));
    before = "SSN ";
    break;
  }
  case 7: {
    char cred[64];
    snprintf(cred, sizeof cred, "user%d:pa%dss", rint_(1, 999), rint_(1000, 99999));
    snprintf(s, sizeof s, "Clone https://%s@git.example.com/repo.git now. ", cred);
    plant(d, types[7], s, strlen("Clone https://"), strlen(cred));
    return;
  }
  default: {
    int k = rint_(0, 2);
    size_t o;
    if (k == 0) {
      strcpy(e, "AKIA");
      for (o = 4; o < 20; o++)
        e[o] = ralnum_up();
    } else if (k == 1) {
      strcpy(e, "AIza");
      for (o = 4; o < 39; o++)
        e[o] = rint_(0, 2) ? (char)('a' + rint_(0, 25)) : ralnum_up();
    } else {
      strcpy(e, "ghp_");
      for (o = 4; o < 40; o++)
        e[o] = rint_(0, 1) ? (char)('a' + rint_(0, 25)) : ralnum_up();
    }
    e[o] = 0;
    before = "key=";
    after = " in the config. ";
  }
  }
  snprintf(s, sizeof s, "%s%s%s ", before, e, after);
  plant(d, types[t], s, strlen(before), strlen(e));
}

static void near_miss(doc *d) {
  char s[256], e[128];
  switch (rint_(0, 13)) {
  case 0: snprintf(s, sizeof s, "Upgrade to version %d.%d.%d.%d first. ", rint_(1, 20), rint_(0, 9), rint_(0, 9), rint_(0, 99)); break;
  case 1: snprintf(s, sizeof s, "Built with libfoo-%d.%d.%d.%d.%d today. ", rint_(1, 9), rint_(0, 9), rint_(0, 9), rint_(0, 9), rint_(0, 9)); break;
  case 2: make_card(e, 0); snprintf(s, sizeof s, "Invalid card %s was declined. ", e); break;
  case 3: snprintf(s, sizeof s, "Meeting on %d-%02d-%02d at %02d:%02d:%02d. ", rint_(1990, 2030), rint_(1, 12), rint_(1, 28), rint_(0, 23), rint_(0, 59), rint_(0, 59)); break;
  case 4: snprintf(s, sizeof s, "Device %02X:%02X:%02X:%02X:%02X:%02X joined. ", rint_(0, 255), rint_(0, 255), rint_(0, 255), rint_(0, 255), rint_(0, 255), rint_(0, 255)); break;
  case 5: snprintf(s, sizeof s, "Use std::vector<int> and boost::asio::ip in C++. "); break;
  case 6: snprintf(s, sizeof s, "Install lodash@%d.%d.%d with npm. ", rint_(1, 9), rint_(0, 20), rint_(0, 30)); break;
  case 7: make_iban(e, 0); snprintf(s, sizeof s, "The code %s is not valid. ", e); break;
  case 8: snprintf(s, sizeof s, "ISBN 978-%d-%02d-%06d-%d is cited. ", rint_(0, 9), rint_(10, 99), rint_(0, 999999), rint_(0, 9)); break;
  case 9: snprintf(s, sizeof s, "Case 000-%02d-%04d and 666-%02d-%04d were void. ", rint_(1, 99), rint_(1, 9999), rint_(1, 99), rint_(1, 9999)); break;
  case 10: snprintf(s, sizeof s, "It cost $%d,%03d.%02d or %d.%d%% more. ", rint_(1, 99), rint_(0, 999), rint_(0, 99), rint_(1, 99), rint_(0, 9)); break;
  case 11: snprintf(s, sizeof s, "Order %d of %d shipped on %d/%d/%d. ", rint_(10000, 99999999), rint_(1, 99), rint_(1, 28), rint_(1, 12), rint_(1990, 2030)); break;
  case 12: snprintf(s, sizeof s, "Firmware v%d.%d.%d.%d fixes it. ", rint_(1, 9), rint_(0, 9), rint_(0, 9), rint_(0, 99)); break;
  default: snprintf(s, sizeof s, "Pi is about 3.14159 and e is 2.71828. "); break;
  }
  put(d, s);
}

Test(text_pii, precision_and_recall_per_type) {
  rng_state = 0x9E3779B97F4A7C15ULL;
  size_t planted[NTYPES] = {0}, found[NTYPES] = {0}, detected[NTYPES] = {0}, correct[NTYPES] = {0};
  for (int di = 0; di < 2000; di++) {
    doc d = {0};
    put(&d, "");
    int parts = rint_(4, 12);
    for (int k = 0; k < parts; k++) {
      int r = rint_(0, 9);
      if (r < 4)
        put(&d, filler[rint_(0, 4)]), put(&d, " ");
      else if (r < 7)
        plant_entity(&d, rint_(0, NTYPES - 1));
      else
        near_miss(&d);
    }
    weir_pii_match *m;
    size_t n;
    cr_assert_eq(weir_pii_scan(NULL, d.s, d.len, &m, &n), WEIR_OK);
    for (size_t i = 0; i < n; i++) {
      int t = 0;
      while (types[t] != m[i].type)
        t++;
      detected[t]++;
      int ok = 0;
      for (size_t j = 0; j < d.np && !ok; j++)
        ok = d.p[j].type == m[i].type && m[i].start < d.p[j].b && d.p[j].a < m[i].end;
      correct[t] += ok;
      if (!ok)
        fprintf(stderr, "false %s: '%.*s' in '%.*s'\n", names[t],
                (int)(m[i].end - m[i].start), d.s + m[i].start,
                (int)(m[i].end - m[i].start + 60),
                d.s + (m[i].start > 30 ? m[i].start - 30 : 0));
    }
    for (size_t j = 0; j < d.np; j++) {
      int t = 0;
      while (types[t] != d.p[j].type)
        t++;
      planted[t]++;
      int ok = 0;
      for (size_t i = 0; i < n && !ok; i++)
        ok = d.p[j].type == m[i].type && m[i].start == d.p[j].a && m[i].end == d.p[j].b;
      found[t] += ok;
      if (!ok)
        fprintf(stderr, "missed %s: '%.*s'\n", names[t], (int)(d.p[j].b - d.p[j].a),
                d.s + d.p[j].a);
    }
    weir_free(m);
    free(d.s);
    free(d.p);
  }
  fprintf(stderr, "PII on a generated labelled corpus (2000 documents):\n");
  for (int t = 0; t < NTYPES; t++) {
    double prec = detected[t] ? (double)correct[t] / (double)detected[t] : 1.0;
    double rec = planted[t] ? (double)found[t] / (double)planted[t] : 0.0;
    fprintf(stderr, "  %-16s planted %4zu  precision %.4f  recall %.4f\n", names[t], planted[t],
            prec, rec);
    cr_expect_gt(planted[t], 100, "%s: too few planted", names[t]);
    cr_expect_geq(prec, 0.99, "%s precision %.4f", names[t], prec);
    cr_expect_geq(rec, 0.98, "%s recall %.4f (exact spans)", names[t], rec);
  }
}

/* ---- The operator ------------------------------------------------------- */

static int read_one(void *user, size_t task, weir_emit *out) {
  (void)task;
  const char *const *texts = user;
  weir_builder *b;
  weir_builder_create(&b);
  weir_builder_add_column(b, "text", WEIR_TYPE_STRING);
  for (int i = 0; texts[i]; i++)
    weir_builder_append_string(b, 0, texts[i], strlen(texts[i]));
  weir_block *blk;
  weir_builder_finish(b, &blk);
  weir_builder_destroy(b);
  return weir_emit_block(out, blk);
}

static weir_block *redact(const char *const *texts, const weir_pii_options *o, weir_pipeline **pp) {
  weir_pipeline *p;
  cr_assert_eq(weir_pipeline_create(&p, NULL), WEIR_OK);
  weir_op *src = weir_source(p, "docs", 1, read_one, (void *)texts, NULL);
  weir_op *op = weir_text_pii_redact(p, src, o);
  cr_assert_not_null(op, "%s", weir_pipeline_errmsg(p));
  weir_iter *it;
  cr_assert_eq(weir_pipeline_iter(p, op, NULL, &it), WEIR_OK);
  weir_block *b = NULL;
  cr_assert_eq(weir_iter_next(it, &b), WEIR_OK, "%s", weir_pipeline_errmsg(p));
  weir_block *extra;
  cr_assert_eq(weir_iter_next(it, &extra), WEIR_EOF);
  weir_iter_destroy(it);
  *pp = p;
  return b;
}

static void text_at(const weir_block *b, const char *col, size_t i, char *buf, size_t n) {
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, col), &c);
  snprintf(buf, n, "%.*s", (int)(c.offsets[i + 1] - c.offsets[i]),
           (const char *)c.data + c.offsets[i]);
}

Test(text_pii, redaction_operator) {
  const char *texts[] = {"Mail jane.doe@example.com or call (415) 555-0132, server 8.8.8.8.",
                         "Nothing here, version 1.2.3.4 only.",
                         "Local 192.168.1.20 and https://bob:s3cret@host.example.com/x",
                         NULL};
  weir_pipeline *p;
  weir_block *b = redact(texts, NULL, &p);
  char t[256];
  text_at(b, "text", 0, t, sizeof t);
  cr_assert_str_eq(t, "Mail <EMAIL> or call <PHONE>, server <IP_ADDRESS>.");
  text_at(b, "text", 1, t, sizeof t);
  cr_assert_str_eq(t, "Nothing here, version 1.2.3.4 only.");
  text_at(b, "text", 2, t, sizeof t);
  cr_assert_str_eq(t, "Local <IP_ADDRESS> and https://<URL_CREDENTIALS>@host.example.com/x");
  uint64_t v;
  cr_assert_eq(weir_pipeline_op_counter(p, 1, "email", &v), WEIR_OK);
  cr_assert_eq(v, 1);
  cr_assert_eq(weir_pipeline_op_counter(p, 1, "ipv4", &v), WEIR_OK);
  cr_assert_eq(v, 2);
  cr_assert_eq(weir_pipeline_op_counter(p, 1, "docs_redacted", &v), WEIR_OK);
  cr_assert_eq(v, 2);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  /* DataTrove's only_remove_public_ips, a fixed replacement, count columns,
   * annotate mode (text kept). */
  weir_pii_options o = WEIR_PII_OPTIONS_INIT;
  o.public_ips_only = 1;
  o.replacement = "[removed]";
  o.count_columns = 1;
  b = redact(texts, &o, &p);
  text_at(b, "text", 2, t, sizeof t);
  cr_assert_str_eq(t, "Local 192.168.1.20 and https://[removed]@host.example.com/x");
  weir_column c;
  weir_block_column(b, (size_t)weir_block_column_index(b, "pii_ipv4"), &c);
  cr_assert_eq(((const int32_t *)c.data)[0], 1);
  cr_assert_eq(((const int32_t *)c.data)[2], 0);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);

  o = (weir_pii_options)WEIR_PII_OPTIONS_INIT;
  o.common.mode = WEIR_TEXT_ANNOTATE;
  o.count_columns = 1;
  b = redact(texts, &o, &p);
  text_at(b, "text", 0, t, sizeof t);
  cr_assert_str_eq(t, texts[0]);
  weir_block_column(b, (size_t)weir_block_column_index(b, "pii_email"), &c);
  cr_assert_eq(((const int32_t *)c.data)[0], 1);
  weir_block_unref(&b);
  weir_pipeline_destroy(p);
}
