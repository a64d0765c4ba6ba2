/* The umbrella header of the CKernels module: every header of include/, listed here so that a
 * new header is seen by incremental builds (with an umbrella directory, SwiftPM's builds could
 * miss a header added later until kernels.h was touched). Add each new header here. */
#include "cpu_features.h"
#include "kernels.h"
#include "sha256_blocks.h"
#include "transformer_kernels.h"
