/* The media options' defaults in builds without FFmpeg: plain C, so the one
 * implementation is compiled here too. */
#include "../options.c"
