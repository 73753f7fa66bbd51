/* The image transforms in builds without FFmpeg: they are plain C and need
 * none of it, so the one implementation is compiled here too. */
#include "../image_ops.c"
