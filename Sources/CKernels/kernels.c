// CKernels is header-only: its functions are `static inline` and compiled into `Captioner` by the
// Clang importer (include/kernels.h says why). SwiftPM needs one source file to build the target.
#include "kernels.h"
