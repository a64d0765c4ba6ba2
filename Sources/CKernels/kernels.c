// The vector kernels are `static inline` in the headers and compiled into their Swift callers by
// the Clang importer (include/kernels.h says why); this file compiles them once more on their own,
// so that a header that stops compiling fails here, with C's messages. sha256_blocks.c is the
// target's one function with a body of its own.
#include "CKernels.h"
