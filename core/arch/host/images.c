/* The host has no user mode, so no user program images (the kernel's come from tools/mkimages.py). */
#include <exo/image.h>

const struct user_image user_images[1];
const unsigned user_image_count = 0;
