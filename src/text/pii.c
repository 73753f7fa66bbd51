/* weir_text_pii_redact and weir_pii_scan: emails, IP addresses, phone
 * numbers, payment cards, IBANs, US SSNs, credentials in URLs and cloud
 * keys, found by PCRE2 patterns and then checked (Luhn, mod 97, address
 * parsing, version context), replaced by a tag per type. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <ctype.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text/text_internal.h"
#include "weir/error.h"

enum { T_URLCRED, T_EMAIL, T_KEY, T_IBAN, T_CARD, T_SSN, T_IPV6, T_IPV4, T_PHONE_NA,
       T_PHONE_INTL, T_COUNT };

/* In priority order: an entity that overlaps one found by an earlier
 * pattern is not taken. */
static const struct {
  unsigned type;
  const char *re;
} pats[T_COUNT] = {
    [T_URLCRED] = {WEIR_PII_URL_CREDENTIALS,
                   "\\b[A-Za-z][A-Za-z0-9+.-]*://([^\\s:/?#@]+:[^\\s/?#@]+)@"},
    [T_EMAIL] = {WEIR_PII_EMAIL,
                 "\\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                 "(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*"
                 "[A-Za-z0-9])?|\\[(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|"
                 "2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)\\])"},
    [T_KEY] = {WEIR_PII_CLOUD_KEY,
               "\\b(?:(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}"
               "|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}"
               "|xox[abposr]-[A-Za-z0-9-]{10,72})(?![A-Za-z0-9_-])"},
    [T_IBAN] = {WEIR_PII_IBAN, "\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}"},
    [T_CARD] = {WEIR_PII_CREDIT_CARD,
                "(?<![\\w.-])(?<![0-9] )[0-9](?:[ -]?[0-9]){12,18}(?![\\w-]|[ .][0-9])"},
    [T_SSN] = {WEIR_PII_SSN, "(?<![\\w.-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![\\w-]|\\.[0-9])"},
    [T_IPV6] = {WEIR_PII_IPV6,
                "(?<![\\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\\.){3}"
                "[0-9]{1,3})?(?![\\w:]|\\.[0-9])"},
    [T_IPV4] = {WEIR_PII_IPV4,
                "(?<![\\w.-])(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|"
                "2[0-4][0-9]|[01]?[0-9][0-9]?)(?![\\w-]|\\.[0-9])"},
    [T_PHONE_NA] = {WEIR_PII_PHONE,
                    "(?<![\\w+.-])(?:\\+?1[ .-])?(?:\\([2-9][0-9]{2}\\) ?|[2-9][0-9]{2}[ .-])"
                    "[0-9]{3}[ .-][0-9]{4}(?![\\w-]|\\.[0-9])"},
    [T_PHONE_INTL] = {WEIR_PII_PHONE,
                      "(?<![\\w+])\\+[1-9][0-9]{0,2}(?:[ .-]?\\(?[0-9]{1,4}\\)?){2,5}(?![\\w-]|"
                      "\\.[0-9])"},
};

static pcre2_code *res[T_COUNT];
static int res_err;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void compile_all(void) {
  for (int i = 0; i < T_COUNT; i++) {
    int ec;
    PCRE2_SIZE eo;
    res[i] = pcre2_compile((PCRE2_SPTR)pats[i].re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo,
                           NULL);
    if (!res[i]) {
      res_err = WEIR_EINVAL;
      return;
    }
    pcre2_jit_compile(res[i], PCRE2_JIT_COMPLETE);
  }
}

static const char *type_key(unsigned t) {
  switch (t) {
  case WEIR_PII_EMAIL: return "email";
  case WEIR_PII_IPV4: return "ipv4";
  case WEIR_PII_IPV6: return "ipv6";
  case WEIR_PII_PHONE: return "phone";
  case WEIR_PII_CREDIT_CARD: return "credit_card";
  case WEIR_PII_IBAN: return "iban";
  case WEIR_PII_SSN: return "ssn";
  case WEIR_PII_URL_CREDENTIALS: return "url_credentials";
  default: return "cloud_key";
  }
}

static const char *type_tag(unsigned t) {
  switch (t) {
  case WEIR_PII_EMAIL: return "<EMAIL>";
  case WEIR_PII_IPV4:
  case WEIR_PII_IPV6: return "<IP_ADDRESS>";
  case WEIR_PII_PHONE: return "<PHONE>";
  case WEIR_PII_CREDIT_CARD: return "<CREDIT_CARD>";
  case WEIR_PII_IBAN: return "<IBAN>";
  case WEIR_PII_SSN: return "<SSN>";
  case WEIR_PII_URL_CREDENTIALS: return "<URL_CREDENTIALS>";
  default: return "<CLOUD_KEY>";
  }
}

static int type_index(unsigned t) {
  int i = 0;
  while (!(t & 1u)) {
    t >>= 1;
    i++;
  }
  return i;
}

/* ---- Checks ------------------------------------------------------------- */

static int luhn(const char *d, size_t n) {
  int sum = 0, dbl = 0;
  for (size_t i = n; i-- > 0;) {
    int v = d[i] - '0';
    if (dbl && (v *= 2) > 9)
      v -= 9;
    sum += v;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

static int card_ok(const char *s, size_t len) {
  char d[24];
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (isdigit((unsigned char)s[i])) {
      if (n >= 19)
        return 0;
      d[n++] = s[i];
    }
  if (n < 13 || !luhn(d, n))
    return 0;
  int p2 = (d[0] - '0') * 10 + (d[1] - '0');
  int p3 = p2 * 10 + (d[2] - '0');
  int p4 = p3 * 10 + (d[3] - '0');
  if (d[0] == '4')
    return n == 13 || n == 16 || n == 19;                      /* Visa */
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
    return n == 16;                                            /* Mastercard */
  if (p2 == 34 || p2 == 37)
    return n == 15;                                            /* Amex */
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649))
    return n >= 16;                                            /* Discover */
  if (p4 >= 3528 && p4 <= 3589)
    return n >= 16;                                            /* JCB */
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38)
    return n >= 14;                                            /* Diners */
  if (p2 == 62)
    return n >= 16;                                            /* UnionPay */
  return 0;
}

static const struct { char cc[3]; int len; } iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

/* An IBAN starting at s: the country's length of characters (single
 * spaces between them allowed), mod 97 == 1, and no letter or digit right
 * after. Returns its byte length or 0. */
static size_t iban_at(const char *s, size_t len) {
  int want = 0;
  for (size_t i = 0; i < sizeof iban_len / sizeof *iban_len; i++)
    if (s[0] == iban_len[i].cc[0] && s[1] == iban_len[i].cc[1])
      want = iban_len[i].len;
  if (!want)
    return 0;
  char c[40];
  int n = 0;
  size_t i = 0;
  while (i < len && n < want) {
    if (s[i] == ' ' && n > 0 && i + 1 < len && isalnum((unsigned char)s[i + 1])) {
      i++;
      continue;
    }
    if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
      break;
    c[n++] = s[i++];
  }
  if (n != want || (i < len && isalnum((unsigned char)s[i])))
    return 0;
  /* Move the first four to the end; letters are 10..35; mod 97 in steps. */
  unsigned rem = 0;
  for (int k = 0; k < n; k++) {
    char ch = c[(k + 4) % n];
    if (isdigit((unsigned char)ch))
      rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
    else
      rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
  }
  return rem == 1 ? i : 0;
}

static int ssn_ok(const char *s) {
  int area = atoi(s), group = atoi(s + 4), serial = atoi(s + 7);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

/* A dotted quad right after "version", "ver", "v", "release", "build",
 * "rev" or "firmware" (any case, spaces or ':' between) is a version. */
static int version_context(const char *text, size_t start) {
  size_t i = start;
  if (i > 0 && (text[i - 1] == 'v' || text[i - 1] == 'V'))
    return 1;
  while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == ':' || text[i - 1] == '.'))
    i--;
  static const char *words[] = {"version", "ver", "release", "build", "rev", "firmware", "v"};
  for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
    size_t n = strlen(words[k]);
    if (i >= n && strncasecmp(text + i - n, words[k], n) == 0 &&
        (i == n || !isalpha((unsigned char)text[i - n - 1])))
      return 1;
  }
  return 0;
}

static int ipv4_public(const unsigned char a[4]) {
  if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
    return 0;
  if (a[0] == 169 && a[1] == 254)
    return 0;
  if (a[0] == 172 && a[1] >= 16 && a[1] <= 31)
    return 0;
  if (a[0] == 192 && a[1] == 168)
    return 0;
  if (a[0] == 100 && a[1] >= 64 && a[1] <= 127)
    return 0;
  if (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2))
    return 0;
  if (a[0] == 198 && (a[1] == 18 || a[1] == 19))
    return 0;
  if (a[0] == 198 && a[1] == 51 && a[2] == 100)
    return 0;
  if (a[0] == 203 && a[1] == 0 && a[2] == 113)
    return 0;
  return 1;
}

static int ipv6_public(const unsigned char a[16]) {
  static const unsigned char zero[16];
  if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
    return 0;                                             /* :: and ::1 */
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
    return 0;                                             /* link-local */
  if ((a[0] & 0xfe) == 0xfc)
    return 0;                                             /* unique local */
  if (a[0] == 0xff)
    return 0;                                             /* multicast */
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
    return 0;                                             /* documentation */
  if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
    return ipv4_public(a + 12);                           /* mapped IPv4 */
  return 1;
}

/* ---- Scanning ------------------------------------------------------------- */

typedef struct scan {
  weir_pii_match *m;
  size_t n, cap;
} scan;

static int overlaps(const scan *sc, size_t a, size_t b) {
  /* sc->m is sorted by start: the one before the insertion point and the
   * one at it are the only candidates. */
  size_t lo = 0, hi = sc->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sc->m[mid].start < a)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0 && sc->m[lo - 1].end > a)
    return 1;
  if (lo < sc->n && sc->m[lo].start < b)
    return 1;
  return 0;
}

static int add(scan *sc, unsigned type, size_t a, size_t b) {
  if (overlaps(sc, a, b))
    return WEIR_OK;
  if (sc->n == sc->cap) {
    size_t nc = sc->cap ? sc->cap * 2 : 16;
    void *m = realloc(sc->m, nc * sizeof *sc->m);
    if (!m)
      return WEIR_ENOMEM;
    sc->m = m;
    sc->cap = nc;
  }
  size_t lo = 0, hi = sc->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (sc->m[mid].start < a)
      lo = mid + 1;
    else
      hi = mid;
  }
  memmove(sc->m + lo + 1, sc->m + lo, (sc->n - lo) * sizeof *sc->m);
  sc->m[lo] = (weir_pii_match){type, a, b};
  sc->n++;
  return WEIR_OK;
}

static int digits_in(const char *s, size_t len) {
  int n = 0;
  for (size_t i = 0; i < len; i++)
    n += isdigit((unsigned char)s[i]) != 0;
  return n;
}

static int scan_text(pcre2_match_data *md, unsigned types, int public_only, const char *text,
                     size_t len, scan *sc) {
  sc->n = 0;
  for (int p = 0; p < T_COUNT; p++) {
    unsigned type = pats[p].type;
    if (!(types & type))
      continue;
    size_t from = 0;
    while (from <= len) {
      int rc = pcre2_match(res[p], (PCRE2_SPTR)text, len, from, PCRE2_NO_UTF_CHECK, md, NULL);
      if (rc == PCRE2_ERROR_NOMATCH)
        break;
      if (rc < 0)
        return WEIR_EINVAL;
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      size_t a = ov[0], b = ov[1];
      from = b > a ? b : b + 1;
      int ok = 1;
      const char *s = text + a;
      size_t l = b - a;
      switch (p) {
      case T_URLCRED:
        a = ov[2];
        b = ov[3];
        break;
      case T_EMAIL: {
        /* The last label must be a name (a letter in it): pkg@1.2.3 is a
         * package version, not an address. */
        size_t k = l;
        while (k > 0 && s[k - 1] != '.' && s[k - 1] != '@')
          k--;
        int letter = 0;
        for (size_t q = k; q < l; q++)
          letter |= isalpha((unsigned char)s[q]) != 0;
        ok = letter || s[l - 1] == ']';
        break;
      }
      case T_IBAN: {
        size_t il = iban_at(s, len - a);
        ok = il > 0;
        b = a + il;
        if (ok)
          from = b;
        else
          from = a + 1;
        break;
      }
      case T_CARD:
        ok = card_ok(s, l);
        break;
      case T_SSN:
        ok = ssn_ok(s);
        break;
      case T_IPV6: {
        char buf[64];
        unsigned char addr[16];
        int hex = 0;
        for (size_t q = 0; q < l; q++)
          hex += isxdigit((unsigned char)s[q]) != 0;
        ok = l < sizeof buf && hex >= 2;
        if (ok) {
          memcpy(buf, s, l);
          buf[l] = 0;
          ok = inet_pton(AF_INET6, buf, addr) == 1 && (!public_only || ipv6_public(addr));
        }
        break;
      }
      case T_IPV4: {
        unsigned char addr[4];
        unsigned v[4];
        ok = sscanf(s, "%u.%u.%u.%u", &v[0], &v[1], &v[2], &v[3]) == 4 && !version_context(text, a);
        for (int q = 0; q < 4 && ok; q++)
          addr[q] = (unsigned char)v[q];
        if (ok && public_only)
          ok = ipv4_public(addr);
        break;
      }
      case T_PHONE_NA:
        ok = !version_context(text, a);
        break;
      case T_PHONE_INTL: {
        int d = digits_in(s, l);
        ok = d >= 8 && d <= 15;
        break;
      }
      default:
        break;
      }
      if (ok && (rc = add(sc, type, a, b)))
        return rc;
    }
  }
  return WEIR_OK;
}

int weir_pii_scan(const weir_pii_options *o, const char *text, size_t len,
                  weir_pii_match **matches, size_t *n) {
  if ((!text && len) || !matches || !n)
    return WEIR_EINVAL;
  pthread_once(&once, compile_all);
  if (res_err)
    return res_err;
  weir_pii_options d = WEIR_PII_OPTIONS_INIT;
  if (o)
    d = *o;
  pcre2_match_data *md = pcre2_match_data_create(4, NULL);
  if (!md)
    return WEIR_ENOMEM;
  scan sc = {0};
  int rc = scan_text(md, d.types ? d.types : WEIR_PII_ALL, d.public_ips_only, text ? text : "",
                     len, &sc);
  pcre2_match_data_free(md);
  if (rc) {
    free(sc.m);
    return rc;
  }
  *matches = sc.m;
  *n = sc.n;
  return WEIR_OK;
}

/* ---- The operator ----------------------------------------------------------- */

static const weir__annot annots[] = {
    {"email", WEIR_TYPE_INT32},       {"ipv4", WEIR_TYPE_INT32},
    {"ipv6", WEIR_TYPE_INT32},        {"phone", WEIR_TYPE_INT32},
    {"credit_card", WEIR_TYPE_INT32}, {"iban", WEIR_TYPE_INT32},
    {"ssn", WEIR_TYPE_INT32},         {"url_credentials", WEIR_TYPE_INT32},
    {"cloud_key", WEIR_TYPE_INT32},
};
#define NANNOT 9

typedef struct pii_ws {
  pcre2_match_data *md;
  scan sc;
  uint64_t counts[NANNOT];
  uint64_t docs;
} pii_ws;

static int pii_init(const void *opts, void **ws) {
  (void)opts;
  pthread_once(&once, compile_all);
  if (res_err)
    return res_err;
  pii_ws *w = calloc(1, sizeof *w);
  if (!w || !(w->md = pcre2_match_data_create(4, NULL))) {
    free(w);
    return WEIR_ENOMEM;
  }
  *ws = w;
  return WEIR_OK;
}

static void pii_free(void *p) {
  pii_ws *w = p;
  if (!w)
    return;
  pcre2_match_data_free(w->md);
  free(w->sc.m);
  free(w);
}

static int pii_row(weir__text_call *c, size_t row, const char *s, size_t len,
                   weir__row_result *res) {
  const weir_pii_options *o = c->opts;
  pii_ws *w = c->wstate;
  int rc = scan_text(w->md, o->types ? o->types : WEIR_PII_ALL, o->public_ips_only, s, len, &w->sc);
  if (rc)
    return rc;
  double *m = &c->measures[row * NANNOT];
  for (size_t i = 0; i < w->sc.n; i++) {
    int t = type_index(w->sc.m[i].type);
    m[t] += 1;
    w->counts[t]++;
  }
  if (!w->sc.n)
    return WEIR_OK;
  w->docs++;
  if (((const weir_text_common *)&o->common)->mode == WEIR_TEXT_ANNOTATE)
    return WEIR_OK;
  size_t out_len = len;
  for (size_t i = 0; i < w->sc.n; i++) {
    const char *rep = o->replacement ? o->replacement : type_tag(w->sc.m[i].type);
    out_len += strlen(rep);
  }
  char *out = malloc(out_len + 1);
  if (!out)
    return WEIR_ENOMEM;
  size_t pos = 0, prev = 0;
  for (size_t i = 0; i < w->sc.n; i++) {
    const weir_pii_match *mm = &w->sc.m[i];
    const char *rep = o->replacement ? o->replacement : type_tag(mm->type);
    memcpy(out + pos, s + prev, mm->start - prev);
    pos += mm->start - prev;
    size_t rl = strlen(rep);
    memcpy(out + pos, rep, rl);
    pos += rl;
    prev = mm->end;
  }
  memcpy(out + pos, s + prev, len - prev);
  pos += len - prev;
  res->new_text = out;
  res->new_len = pos;
  return WEIR_OK;
}

static int pii_block_end(weir__text_call *c) {
  pii_ws *w = c->wstate;
  for (int t = 0; t < NANNOT; t++)
    if (w->counts[t]) {
      weir_ctx_count(c->ctx, type_key(1u << t), w->counts[t]);
      w->counts[t] = 0;
    }
  if (w->docs) {
    weir_ctx_count(c->ctx, "docs_redacted", w->docs);
    w->docs = 0;
  }
  return WEIR_OK;
}

static int pii_want(const void *opts, int mode) {
  (void)mode;
  return ((const weir_pii_options *)opts)->count_columns;
}

static void pii_opts_free(void *opts) { free((char *)((weir_pii_options *)opts)->replacement); }

static const weir__text_kind pii_kind = {
    .kind = "pii_redact",
    .prefix = "pii_",
    .rewrites = 1,
    .no_verdict = 1,
    .annots = annots,
    .nannot = NANNOT,
    .opts_size = sizeof(weir_pii_options),
    .worker_init = pii_init,
    .worker_free = pii_free,
    .row = pii_row,
    .block_end = pii_block_end,
    .opts_free = pii_opts_free,
    .want_annots = pii_want,
};

weir_op *weir_text_pii_redact(weir_pipeline *p, weir_op *in, const weir_pii_options *o) {
  weir_pii_options d = WEIR_PII_OPTIONS_INIT;
  if (o) {
    if (weir__text_check_version(p, "weir_text_pii_redact", o->version, WEIR_PII_OPTIONS_VERSION))
      return NULL;
    d = *o;
  }
  if (d.types & ~(unsigned)WEIR_PII_ALL)
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_pii_redact: unknown type bits 0x%x",
                           d.types & ~(unsigned)WEIR_PII_ALL);
  pthread_once(&once, compile_all);
  if (res_err)
    return weir__text_fail(p, WEIR_EINVAL, "weir_text_pii_redact: a pattern did not compile");
  /* The options are copied by the machinery; the replacement string too. */
  if (d.replacement && !(d.replacement = strdup(d.replacement)))
    return weir__text_fail(p, WEIR_ENOMEM, "weir_text_pii_redact: out of memory");
  return weir__text_op(p, in, &pii_kind, &d, &d.common, NULL);
}
