// Portable kernels: the baseline instruction set (SSE2 on x86-64), no extra flags.
#define YK_NS generic
#define YK_ISA_NAME "generic"
#define YK_EXPORT kernelsGeneric
#include "isa_body.inc"
