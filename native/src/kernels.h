// The kernel table each ISA file fills in, and the thread pool the kernels run on.
// Shapes follow src/backend/backend.ts: contiguous row-major float32, forward kernels
// overwrite, backward kernels add into gradients.
#pragma once
#include <cstdint>

namespace yk {

struct Kernels {
  const char* isa;
  void (*matmul)(float* c, const float* a, const float* b, int M, int N, int K, bool transA, bool transB,
                 bool accumulate);
  void (*addBroadcast)(float* out, const float* a, const float* b, long size, int n);
  void (*sumRowsInto)(float* db, const float* dy, int rows, int n);
  void (*axpy)(float* dst, const float* src, float scale, long n);
  void (*scale)(float* out, const float* x, float scale, long n);
  double (*sumSquares)(const float* x, long n);
  void (*embedding)(float* out, const float* table, const int32_t* ids, int N, int C);
  void (*embeddingBackward)(float* dtable, const float* dout, const int32_t* ids, int N, int C);
  void (*layerNorm)(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N,
                    int C, float eps);
  void (*layerNormBackward)(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                            const float* mean, const float* rstd, int N, int C);
  void (*gelu)(float* out, const float* x, long n, bool tanh);
  void (*geluBackward)(float* dx, const float* dout, const float* x, long n, bool tanh);
  void (*attention)(float* out, float* att, const float* qkv, const float* mask, int B, int T, int C, int H);
  void (*attentionBackward)(float* dqkv, const float* dout, const float* qkv, const float* att, const float* mask,
                            int B, int T, int C, int H);
  void (*softmax)(float* out, const float* x, int N, int V, float temperature);
  int (*crossEntropy)(float* losses, float* probs, const float* logits, const int32_t* targets, int N, int V);
  void (*crossEntropyBackward)(float* dlogits, const float* probs, const int32_t* targets, float dloss, int N,
                               int V);
  void (*zero)(float* out, long n);
  void (*mul)(float* out, const float* x, const float* mask, long n);
  void (*mulBackward)(float* dx, const float* dout, const float* mask, long n);
  void (*adamw)(float* p, const float* g, float* m, float* v, long n, float lr, float beta1, float beta2, float eps,
                float weightDecay, float bc1, float bc2, float gradScale);
};

const Kernels* kernelsGeneric();
#if defined(__x86_64__) || defined(_M_X64)
const Kernels* kernelsAvx2();
const Kernels* kernelsAvx512();
#endif
#if defined(__aarch64__)
const Kernels* kernelsNeon();
#endif

// ---- thread pool (pool.cc) ----
// run(nchunks, fn, ctx) calls fn(ctx, chunk, tid) once for each chunk in [0, nchunks), on
// whichever pool threads are free (tid < poolThreads(); the caller is tid 0), and returns
// when all are done. Chunks must not depend on each other or on which thread runs them.
typedef void (*ChunkFn)(void* ctx, int chunk, int tid);
void poolRun(int nchunks, ChunkFn fn, void* ctx);
int poolThreads();
void poolSetThreads(int n);
void poolSetSpin(long spinIters);
long poolSpin();
// How many times the pool has fallen back to the calling thread alone (busy machine).
long poolSoloPeriods();
// Per-thread scratch that grows and is never shrunk: at least n floats, 64-byte aligned.
float* poolScratch(int tid, int slot, long n);

// [begin, end) of n items for thread tid of nth, in contiguous near-equal slices.
static inline void splitRange(long n, int tid, int nth, long* begin, long* end) {
  *begin = n * tid / nth;
  *end = n * (tid + 1) / nth;
}

}  // namespace yk
