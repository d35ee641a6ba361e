// Kernels for AVX-512 (F; the FMA and AVX2 it implies): compiled with -mavx512f -mfma -mavx2.
#define YK_NS avx512
#define YK_ISA_NAME "avx512"
#define YK_EXPORT kernelsAvx512
#include "isa_body.inc"
