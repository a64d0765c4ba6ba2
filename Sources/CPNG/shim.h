// libpng's simplified read API (png_image_*), for the report's PNG pictures (Sources/Pictures).
#ifndef NIGHTCAP_CPNG_SHIM_H
#define NIGHTCAP_CPNG_SHIM_H

#include <png.h>

#endif
