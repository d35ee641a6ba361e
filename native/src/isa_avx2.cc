// Kernels for AVX2 + FMA: compiled with -mavx2 -mfma.
#define YK_NS avx2
#define YK_ISA_NAME "avx2"
#define YK_EXPORT kernelsAvx2
#include "isa_body.inc"
