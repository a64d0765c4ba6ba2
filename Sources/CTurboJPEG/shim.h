// libjpeg-turbo's TurboJPEG API (2.x): the report's pictures are decoded scaled in the DCT domain
// and re-encoded small (Sources/Pictures).
#ifndef NIGHTCAP_CTURBOJPEG_SHIM_H
#define NIGHTCAP_CTURBOJPEG_SHIM_H

#include <turbojpeg.h>

#endif
