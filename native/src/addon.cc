// Node-API glue: picks the kernel table for this CPU at load time and exposes each kernel
// to JavaScript. Arguments are checked (types and buffer lengths) before any kernel runs, so
// a wrong call throws instead of writing out of bounds.
#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "args.h"
#include "kernels.h"

namespace {

using yk::Args;
using yk::num;
using yk::Kernels;

const Kernels* active = nullptr;


// The best table this CPU and OS support; YORICK_ISA may ask for a lower one.
const Kernels* pick(const char* want) {
  const Kernels* best = yk::kernelsGeneric();
  std::string w = want ? want : "";
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
  if (w == "generic") return best;
  if (avx2) best = yk::kernelsAvx2();
  if (w == "avx2") return best;
  if (avx512) best = yk::kernelsAvx512();
#elif defined(__aarch64__)
  if (w == "generic") return best;
  best = yk::kernelsNeon();
#endif
  return best;
}

#define KERNEL(name) napi_value name(napi_env env, napi_callback_info info)

KERNEL(Matmul) {
  Args a(env, info);
  long M = a.count(3), N = a.count(4), K = a.count(5);
  float* c = a.f32(0, (double)M * N);
  const float* x = a.f32(1, (double)M * K);
  const float* y = a.f32(2, (double)K * N);
  bool tA = a.flag(6), tB = a.flag(7), acc = a.flag(8);
  if (a.ok) active->matmul(c, x, y, M, N, K, tA, tB, acc);
  return nullptr;
}

KERNEL(AddBroadcast) {
  Args a(env, info);
  long size = a.count(3), n = a.count(4);
  if (a.ok && (n == 0 || size % n != 0)) a.fail("(n) must divide size", 4);
  float* out = a.f32(0, size);
  const float* x = a.f32(1, size);
  const float* b = a.f32(2, n);
  if (a.ok) active->addBroadcast(out, x, b, size, n);
  return nullptr;
}

KERNEL(SumRowsInto) {
  Args a(env, info);
  long rows = a.count(2), n = a.count(3);
  float* db = a.f32(0, n);
  const float* dy = a.f32(1, (double)rows * n);
  if (a.ok) active->sumRowsInto(db, dy, rows, n);
  return nullptr;
}

KERNEL(Axpy) {
  Args a(env, info);
  long n = a.count(3);
  float* dst = a.f32(0, n);
  const float* src = a.f32(1, n);
  float s = a.num(2);
  if (a.ok) active->axpy(dst, src, s, n);
  return nullptr;
}

KERNEL(Scale) {
  Args a(env, info);
  long n = a.count(3);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  float s = a.num(2);
  if (a.ok) active->scale(out, x, s, n);
  return nullptr;
}

KERNEL(SumSquares) {
  Args a(env, info);
  long n = a.count(1);
  const float* x = a.f32(0, n);
  return a.ok ? num(env, active->sumSquares(x, n)) : nullptr;
}

KERNEL(Embedding) {
  Args a(env, info);
  long N = a.count(3), C = a.count(4);
  float* out = a.f32(0, (double)N * C);
  const float* table = a.f32(1, 0);
  const int32_t* ids = a.i32(2, N);
  if (a.ok) {
    size_t len;
    napi_get_typedarray_info(env, a.argv[1], nullptr, &len, nullptr, nullptr, nullptr);
    for (long i = 0; i < N; i++)
      if (ids[i] < 0 || (double)(ids[i] + 1) * C > (double)len) return a.fail("holds an id outside the table", 2), nullptr;
    active->embedding(out, table, ids, N, C);
  }
  return nullptr;
}

KERNEL(EmbeddingBackward) {
  Args a(env, info);
  long N = a.count(3), C = a.count(4);
  float* dtable = a.f32(0, 0);
  const float* dout = a.f32(1, (double)N * C);
  const int32_t* ids = a.i32(2, N);
  if (a.ok) {
    size_t len;
    napi_get_typedarray_info(env, a.argv[0], nullptr, &len, nullptr, nullptr, nullptr);
    for (long i = 0; i < N; i++)
      if (ids[i] < 0 || (double)(ids[i] + 1) * C > (double)len) return a.fail("holds an id outside the table", 2), nullptr;
    active->embeddingBackward(dtable, dout, ids, N, C);
  }
  return nullptr;
}

KERNEL(LayerNorm) {
  Args a(env, info);
  long N = a.count(6), C = a.count(7);
  float* out = a.f32(0, (double)N * C);
  float* mean = a.f32(1, N);
  float* rstd = a.f32(2, N);
  const float* x = a.f32(3, (double)N * C);
  const float* w = a.f32(4, C);
  const float* b = a.f32(5, C, true);
  float eps = a.num(8);
  if (a.ok) active->layerNorm(out, mean, rstd, x, w, b, N, C, eps);
  return nullptr;
}

KERNEL(LayerNormBackward) {
  Args a(env, info);
  long N = a.count(8), C = a.count(9);
  float* dx = a.f32(0, (double)N * C);
  float* dw = a.f32(1, C);
  float* db = a.f32(2, C, true);
  const float* dout = a.f32(3, (double)N * C);
  const float* x = a.f32(4, (double)N * C);
  const float* w = a.f32(5, C);
  const float* mean = a.f32(6, N);
  const float* rstd = a.f32(7, N);
  if (a.ok) active->layerNormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C);
  return nullptr;
}

KERNEL(Gelu) {
  Args a(env, info);
  long n = a.count(2);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  bool tanhForm = a.flag(3);
  if (a.ok) active->gelu(out, x, n, tanhForm);
  return nullptr;
}

KERNEL(GeluBackward) {
  Args a(env, info);
  long n = a.count(3);
  float* dx = a.f32(0, n);
  const float* dout = a.f32(1, n);
  const float* x = a.f32(2, n);
  bool tanhForm = a.flag(4);
  if (a.ok) active->geluBackward(dx, dout, x, n, tanhForm);
  return nullptr;
}

KERNEL(Attention) {
  Args a(env, info);
  long B = a.count(4), T = a.count(5), C = a.count(6), H = a.count(7);
  if (a.ok && (H == 0 || C % H != 0)) a.fail("(H) must divide C", 7);
  float* out = a.f32(0, (double)B * T * C);
  float* att = a.f32(1, (double)B * H * T * T);
  const float* qkv = a.f32(2, 3.0 * B * T * C);
  const float* mask = a.f32(3, (double)B * H * T * T, true);
  if (a.ok) active->attention(out, att, qkv, mask, B, T, C, H);
  return nullptr;
}

KERNEL(AttentionBackward) {
  Args a(env, info);
  long B = a.count(5), T = a.count(6), C = a.count(7), H = a.count(8);
  if (a.ok && (H == 0 || C % H != 0)) a.fail("(H) must divide C", 8);
  float* dqkv = a.f32(0, 3.0 * B * T * C);
  const float* dout = a.f32(1, (double)B * T * C);
  const float* qkv = a.f32(2, 3.0 * B * T * C);
  const float* att = a.f32(3, (double)B * H * T * T);
  const float* mask = a.f32(4, (double)B * H * T * T, true);
  if (a.ok) active->attentionBackward(dqkv, dout, qkv, att, mask, B, T, C, H);
  return nullptr;
}

KERNEL(Softmax) {
  Args a(env, info);
  long N = a.count(2), V = a.count(3);
  float* out = a.f32(0, (double)N * V);
  const float* x = a.f32(1, (double)N * V);
  float temperature = a.num(4);
  if (a.ok && V > 0) active->softmax(out, x, N, V, temperature);
  return nullptr;
}

// Targets must be -1 or a valid class: checked here, once, for both cross-entropy kernels.
bool targetsValid(Args& a, const int32_t* targets, long N, long V, size_t i) {
  if (!a.ok) return false;
  for (long r = 0; r < N; r++)
    if (targets[r] < -1 || targets[r] >= V) return a.fail("holds a target outside [-1, V)", i), false;
  return true;
}

KERNEL(CrossEntropy) {
  Args a(env, info);
  long N = a.count(4), V = a.count(5);
  float* losses = a.f32(0, N);
  float* probs = a.f32(1, (double)N * V);
  const float* logits = a.f32(2, (double)N * V);
  const int32_t* targets = a.i32(3, N);
  if (!targetsValid(a, targets, N, V, 3)) return nullptr;
  return num(env, V > 0 ? active->crossEntropy(losses, probs, logits, targets, N, V) : 0);
}

KERNEL(CrossEntropyBackward) {
  Args a(env, info);
  long N = a.count(4), V = a.count(5);
  float* dlogits = a.f32(0, (double)N * V);
  const float* probs = a.f32(1, (double)N * V);
  const int32_t* targets = a.i32(2, N);
  float dloss = a.num(3);
  if (targetsValid(a, targets, N, V, 2)) active->crossEntropyBackward(dlogits, probs, targets, dloss, N, V);
  return nullptr;
}

KERNEL(Mul) {
  Args a(env, info);
  long n = a.count(3);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  const float* mask = a.f32(2, n);
  if (a.ok) active->mul(out, x, mask, n);
  return nullptr;
}

KERNEL(MulBackward) {
  Args a(env, info);
  long n = a.count(3);
  float* dx = a.f32(0, n);
  const float* dout = a.f32(1, n);
  const float* mask = a.f32(2, n);
  if (a.ok) active->mulBackward(dx, dout, mask, n);
  return nullptr;
}

KERNEL(Adamw) {
  Args a(env, info);
  long n = a.count(4);
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  double lr = a.num(5), beta1 = a.num(6), beta2 = a.num(7), eps = a.num(8), wd = a.num(9), t = a.num(10),
         gs = a.num(11);
  if (!a.ok) return nullptr;
  // bias corrections in float64, as the reference computes them
  const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
  active->adamw(p, g, m, v, n, lr, beta1, beta2, eps, wd, bc1, bc2, gs);
  return nullptr;
}

// Sets a buffer to zero, in parallel for large ones (reused buffers must come back zeroed).
KERNEL(Zero) {
  Args a(env, info);
  float* p = a.f32(0, 0);
  if (!a.ok) return nullptr;
  size_t len;
  napi_get_typedarray_info(env, a.argv[0], nullptr, &len, nullptr, nullptr, nullptr);
  active->zero(p, (long)len);
  return nullptr;
}

// Elements from the start of a Float32Array to its first 64-byte-aligned element.
KERNEL(AlignOffset) {
  Args a(env, info);
  const float* p = a.f32(0, 0);
  if (!a.ok) return nullptr;
  uintptr_t addr = (uintptr_t)p;
  return num(env, (double)(((64 - (addr & 63)) & 63) / 4));
}

KERNEL(Configure) {
  // configure(isa | null, threads | 0, spinMicros | -1): for tests and benchmarks.
  Args a(env, info);
  if (!a.isNull(0)) {
    char buf[32] = {0};
    size_t len = 0;
    if (napi_get_value_string_utf8(env, a.argv[0], buf, sizeof buf, &len) != napi_ok) return a.fail("must be a string", 0), nullptr;
    active = pick(buf);
  }
  long threads = a.isNull(1) ? 0 : a.count(1);
  if (a.ok && threads > 0 && threads != yk::poolThreads()) yk::poolSetThreads(threads);
  double spin = a.isNull(2) ? -1 : a.num(2);
  if (a.ok && spin >= 0) yk::poolSetSpin((long)spin);
  return nullptr;
}

KERNEL(Info) {
  napi_value obj, isa, threads, spin, solo;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, active->isa, NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, yk::poolThreads(), &threads);
  napi_create_int32(env, (int32_t)yk::poolSpin(), &spin);
  napi_set_named_property(env, obj, "isa", isa);
  napi_set_named_property(env, obj, "threads", threads);
  napi_set_named_property(env, obj, "spinMicros", spin);
  napi_create_double(env, (double)yk::poolSoloPeriods(), &solo);
  napi_set_named_property(env, obj, "soloPeriods", solo);
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  if (!active) active = pick(std::getenv("YORICK_ISA"));
  const napi_property_descriptor props[] = {
#define FN(js, c) {js, nullptr, c, nullptr, nullptr, nullptr, napi_default, nullptr}
      FN("matmul", Matmul), FN("addBroadcast", AddBroadcast), FN("sumRowsInto", SumRowsInto), FN("axpy", Axpy),
      FN("scale", Scale), FN("sumSquares", SumSquares), FN("embedding", Embedding),
      FN("embeddingBackward", EmbeddingBackward), FN("layerNorm", LayerNorm),
      FN("layerNormBackward", LayerNormBackward), FN("gelu", Gelu), FN("geluBackward", GeluBackward),
      FN("attentionMasked", Attention), FN("attentionMaskedBackward", AttentionBackward), FN("softmax", Softmax),
      FN("crossEntropy", CrossEntropy), FN("crossEntropyBackward", CrossEntropyBackward), FN("mul", Mul),
      FN("mulBackward", MulBackward), FN("adamw", Adamw), FN("alignOffset", AlignOffset), FN("zero", Zero),
      FN("configure", Configure), FN("info", Info),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
