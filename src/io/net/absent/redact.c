/* URL redaction in builds without libcurl: the same code as with it. */
#include "io/net/redact.c"
