/* The mapping between weir column types and Arrow C Data Interface format
 * strings, and the check that tells a known Arrow format from garbage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "weir/error.h"
#include "core/arrow_internal.h"

const char *weir__arrow_format_of_type(int type) {
  switch (type) {
  case WEIR_TYPE_BOOL:    return "b";
  case WEIR_TYPE_INT32:   return "i";
  case WEIR_TYPE_INT64:   return "l";
  case WEIR_TYPE_FLOAT32: return "f";
  case WEIR_TYPE_FLOAT64: return "g";
  /* weir offsets are int64, so strings and bytes are the "large" types and
   * export without converting offsets. */
  case WEIR_TYPE_STRING:  return "U";
  case WEIR_TYPE_BINARY:  return "Z";
  default:                return NULL;
  }
}

const char *weir__arrow_format_of_dtype(int dtype) {
  switch (dtype) {
  case WEIR_DTYPE_UINT8:    return "C";
  case WEIR_DTYPE_INT8:     return "c";
  case WEIR_DTYPE_INT16:    return "s";
  case WEIR_DTYPE_INT32:    return "i";
  case WEIR_DTYPE_INT64:    return "l";
  case WEIR_DTYPE_FLOAT16:  return "e";
  case WEIR_DTYPE_BFLOAT16: return "S";
  case WEIR_DTYPE_FLOAT32:  return "f";
  case WEIR_DTYPE_FLOAT64:  return "g";
  case WEIR_DTYPE_UINT16:   return "S";
  case WEIR_DTYPE_UINT32:   return "I";
  case WEIR_DTYPE_UINT64:   return "L";
  default:                  return NULL;
  }
}

int weir__arrow_dtype_of_format(const char *format) {
  if (!format || !format[0] || format[1]) return 0;
  switch (format[0]) {
  case 'C': return WEIR_DTYPE_UINT8;
  case 'c': return WEIR_DTYPE_INT8;
  case 's': return WEIR_DTYPE_INT16;
  case 'i': return WEIR_DTYPE_INT32;
  case 'l': return WEIR_DTYPE_INT64;
  case 'e': return WEIR_DTYPE_FLOAT16;
  case 'f': return WEIR_DTYPE_FLOAT32;
  case 'g': return WEIR_DTYPE_FLOAT64;
  case 'I': return WEIR_DTYPE_UINT32;
  case 'L': return WEIR_DTYPE_UINT64;
  default:  return 0;
  }
}

/* Accepts "<prefix><digits>" and "<prefix><digits>,<digits>[,<digits>]". */
static int digits_list(const char *s, int min_items, int max_items) {
  int items = 0;
  for (;;) {
    if (*s == '-') s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') s++;
    items++;
    if (*s == '\0') return items >= min_items && items <= max_items;
    if (*s != ',') return 0;
    s++;
  }
}

int weir__arrow_format_is_known(const char *f) {
  if (!f || !f[0]) return 0;
  if (!f[1]) return strchr("nbcCsSiIlLefgzZuU", f[0]) != NULL;
  if (!strcmp(f, "vu") || !strcmp(f, "vz")) return 1;
  if (!strncmp(f, "d:", 2)) return digits_list(f + 2, 2, 3);
  if (!strncmp(f, "w:", 2)) return digits_list(f + 2, 1, 1);
  if (!strncmp(f, "+w:", 3)) return digits_list(f + 3, 1, 1);
  if (!strcmp(f, "+l") || !strcmp(f, "+L") || !strcmp(f, "+s") ||
      !strcmp(f, "+m") || !strcmp(f, "+r") || !strcmp(f, "+vl") ||
      !strcmp(f, "+vL"))
    return 1;
  if (!strncmp(f, "+ud:", 4) || !strncmp(f, "+us:", 4)) return 1;
  if (!strcmp(f, "tdD") || !strcmp(f, "tdm") || !strcmp(f, "tts") ||
      !strcmp(f, "ttm") || !strcmp(f, "ttu") || !strcmp(f, "ttn") ||
      !strcmp(f, "tDs") || !strcmp(f, "tDm") || !strcmp(f, "tDu") ||
      !strcmp(f, "tDn") || !strcmp(f, "tiM") || !strcmp(f, "tiD") ||
      !strcmp(f, "tin"))
    return 1;
  if (f[0] == 't' && f[1] == 's' && f[2] && strchr("smun", f[2]) && f[3] == ':')
    return 1;
  return 0;
}

const char *weir__arrow_format_describe(const char *f, char *buf,
                                        size_t cap) {
  static const struct { const char *format, *name; } names[] = {
    {"n", "null"}, {"b", "bool"}, {"c", "int8"}, {"C", "uint8"},
    {"s", "int16"}, {"S", "uint16"}, {"i", "int32"}, {"I", "uint32"},
    {"l", "int64"}, {"L", "uint64"}, {"e", "float16"}, {"f", "float32"},
    {"g", "float64"}, {"z", "binary"}, {"Z", "large_binary"},
    {"u", "string"}, {"U", "large_string"}, {"vu", "string_view"},
    {"vz", "binary_view"}, {"+l", "list"}, {"+L", "large_list"},
    {"+vl", "list_view"}, {"+vL", "large_list_view"}, {"+s", "struct"},
    {"+m", "map"}, {"+r", "run_end_encoded"}, {"tdD", "date32"},
    {"tdm", "date64"}, {"tiM", "interval(months)"},
    {"tiD", "interval(days_time)"}, {"tin", "interval(month_day_nano)"},
  };
  if (!f) f = "(null)";
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(f, names[i].format)) {
      snprintf(buf, cap, "%s", names[i].name);
      return buf;
    }
  int bits = 128, precision = 0, scale = 0;
  if (!strncmp(f, "d:", 2) && weir__arrow_format_is_known(f) &&
      sscanf(f + 2, "%d,%d,%d", &precision, &scale, &bits) >= 2)
    snprintf(buf, cap, "decimal%d(%d, %d)", bits, precision, scale);
  else if (!strncmp(f, "w:", 2))
    snprintf(buf, cap, "fixed_size_binary(%s)", f + 2);
  else if (!strncmp(f, "+w:", 3))
    snprintf(buf, cap, "fixed_size_list(%s)", f + 3);
  else if (!strncmp(f, "+ud:", 4) || !strncmp(f, "+us:", 4))
    snprintf(buf, cap, "%s union", f[2] == 'd' ? "dense" : "sparse");
  else if (!strncmp(f, "ts", 2) && weir__arrow_format_is_known(f))
    snprintf(buf, cap, "timestamp");
  else if (!strncmp(f, "tt", 2) && weir__arrow_format_is_known(f))
    snprintf(buf, cap, "time");
  else if (!strncmp(f, "tD", 2) && weir__arrow_format_is_known(f))
    snprintf(buf, cap, "duration");
  else
    snprintf(buf, cap, "'%.32s'", f);
  return buf;
}

int weir__arrow_errno_of(int weir_err) {
  switch (weir_err) {
  case WEIR_OK:      return 0;
  case WEIR_ENOMEM:  return ENOMEM;
  case WEIR_EINVAL:  return EINVAL;
  case WEIR_ENOTSUP: return ENOSYS;
  case WEIR_EFORMAT: return EINVAL;
  default:           return EIO;
  }
}
