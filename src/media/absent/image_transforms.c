/* The image transform operators in builds without FFmpeg: plain C, so the
 * one implementation is compiled here too. */
#include "../image_transforms.c"
