// libdeflate's whole-buffer inflate, for the HDF5 wrapper's raw chunk reads (HDF5Dataset+RawChunks).
#ifndef NIGHTCAP_CDEFLATE_SHIM_H
#define NIGHTCAP_CDEFLATE_SHIM_H

#include <libdeflate.h>

#endif
