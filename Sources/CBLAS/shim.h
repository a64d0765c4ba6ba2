#ifndef NIGHTCAP_CBLAS_SHIM_H
#define NIGHTCAP_CBLAS_SHIM_H
#include <cblas.h>
#endif
