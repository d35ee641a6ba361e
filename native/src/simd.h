// One vector type per translation unit, from GCC/Clang vector extensions: each ISA file
// (isa_*.cc) is compiled with its own -m flags, so the same source becomes AVX-512, AVX2,
// SSE2 or NEON code. Everything here is static/inline inside the ISA's namespace, so no
// function compiled for one ISA can be picked by the linker for another.
// Included by isa_body.inc inside a per-ISA namespace, after the system headers.

#if defined(__AVX512F__)
#define YK_W 16
#elif defined(__AVX2__)
#define YK_W 8
#else
#define YK_W 4  // SSE2 on x86-64, NEON on arm64, scalar code elsewhere
#endif

// V: YK_W floats, aligned to its size (for locals); VU: the same, loadable from any float*.
typedef float V __attribute__((vector_size(YK_W * 4)));
typedef float VU __attribute__((vector_size(YK_W * 4), aligned(4), may_alias));
typedef int32_t VI __attribute__((vector_size(YK_W * 4)));

static inline V vload(const float* p) { return *(const VU*)p; }
static inline void vstore(float* p, V v) { *(VU*)p = v; }
static inline V vset(float s) { return (V){} + s; }
static inline V vmax(V a, V b) { return a > b ? a : b; }
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline float hsum(V v) {
  float s = 0;
  for (int i = 0; i < YK_W; i++) s += v[i];
  return s;
}
static inline float hmax(V v) {
  float m = v[0];
  for (int i = 1; i < YK_W; i++) m = v[i] > m ? v[i] : m;
  return m;
}

// exp(x) for float lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 Taylor
// polynomial (relative error ~2e-7), 2^n built in the exponent bits. Inputs below -87.3
// give ~1e-38 instead of 0, which every caller here tolerates.
static inline V vexp(V x) {
  x = vmin(vmax(x, vset(-87.3f)), vset(88.7f));
  const V magic = vset(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  V n = (x * 1.44269504088896341f + magic) - magic;
  V r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187e-06f;  // ln2 split in two so n*ln2_hi is exact
  V p = vset(1.0f / 720);
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  VI bits = (__builtin_convertvector(n, VI) + 127) << 23;
  return p * (V)bits;
}

// erf(x) = 1 - 1 / (1 + a1 z + ... + a6 z^6)^16 for z = |x| (Abramowitz & Stegun 7.1.28,
// absolute error below 3e-7, about 1e-6 after float rounding): no exp and one division,
// about half the cost of the Chebyshev fit the reference backend uses.
static inline V verf(V x) {
  V z = vmax(x, -x);
  V p = vset(0.0000430638f);
  p = p * z + 0.0002765672f;
  p = p * z + 0.0001520143f;
  p = p * z + 0.0092705272f;
  p = p * z + 0.0422820123f;
  p = p * z + 0.0705230784f;
  p = p * z + 1.0f;
  V r = 1.0f / p;
  r = r * r;
  r = r * r;
  r = r * r;
  r = r * r;
  V e = 1.0f - r;
  return x >= 0 ? e : -e;
}

// tanh(u) = 1 - 2 / (exp(2u) + 1): saturates correctly for large |u| with the clamped exp.
static inline V vtanh(V u) { return 1.0f - 2.0f / (vexp(u + u) + 1.0f); }

#if defined(__AVX512F__)
static inline V vsqrt(V x) { return (V)_mm512_sqrt_ps((__m512)x); }
#elif defined(__AVX__)
static inline V vsqrt(V x) { return (V)_mm256_sqrt_ps((__m256)x); }
#elif defined(__SSE2__)
static inline V vsqrt(V x) { return (V)_mm_sqrt_ps((__m128)x); }
#elif defined(__aarch64__)
static inline V vsqrt(V x) { return (V)vsqrtq_f32((float32x4_t)x); }
#else
static inline V vsqrt(V x) {
  for (int i = 0; i < YK_W; i++) x[i] = std::sqrt(x[i]);
  return x;
}
#endif

// Loads up to YK_W floats (n < YK_W) with zeros after them, and the matching store:
// masked instructions where the ISA has them (softmax rows end in a partial vector).
#if defined(__AVX512F__)
static inline V vloadPartial(const float* p, long n) { return (V)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
static inline void vstorePartial(float* p, V v, long n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v); }
#elif defined(__AVX2__)
static inline __m256i laneMask(long n) { return (__m256i)((VI){0, 1, 2, 3, 4, 5, 6, 7} < (int)n); }
static inline V vloadPartial(const float* p, long n) { return (V)_mm256_maskload_ps(p, laneMask(n)); }
static inline void vstorePartial(float* p, V v, long n) { _mm256_maskstore_ps(p, laneMask(n), (__m256)v); }
#else
static inline V vloadPartial(const float* p, long n) {
  V v = vset(0);
  for (long i = 0; i < n; i++) v[i] = p[i];
  return v;
}
static inline void vstorePartial(float* p, V v, long n) {
  for (long i = 0; i < n; i++) p[i] = v[i];
}
#endif
// Lanes n.. of v set to zero.
static inline V vkeep(V v, long n) {
  VI idx;
  for (int i = 0; i < YK_W; i++) idx[i] = i;
  return idx < (int)n ? v : vset(0);
}
