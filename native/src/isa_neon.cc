// Kernels for NEON (arm64 baseline, no extra flags); built on arm64 only, untested here.
#define YK_NS neon
#define YK_ISA_NAME "neon"
#define YK_EXPORT kernelsNeon
#include "isa_body.inc"
