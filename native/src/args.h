// Argument unpacking for the Node-API glue (addon.cc): each accessor checks the type and, for
// typed arrays, the length the kernel will touch, and throws a TypeError naming the argument.
#pragma once
#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>

namespace yk {

// One thread pool and one set of scratch buffers per process: calls from several JavaScript
// threads (worker_threads each loading the addon) take turns.
inline std::mutex callMutex;

struct Args {
  std::lock_guard<std::mutex> turn{callMutex};
  napi_env env;
  napi_value argv[16];
  size_t argc = 16;
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }
  void fail(const char* what, size_t i) {
    if (!ok) return;
    ok = false;
    std::string msg = std::string("yorick native: argument ") + std::to_string(i) + " " + what;
    napi_throw_type_error(env, nullptr, msg.c_str());
  }
  bool isNull(size_t i) {
    napi_valuetype t = napi_undefined;
    if (i < argc) napi_typeof(env, argv[i], &t);
    return t == napi_null || t == napi_undefined;
  }
  // A typed array of the given type holding at least `need` elements (null allowed if nullable).
  void* array(size_t i, napi_typedarray_type want, double need, bool nullable = false) {
    if (!ok) return nullptr;
    if (nullable && isNull(i)) return nullptr;
    bool is = false;
    if (i < argc) napi_is_typedarray(env, argv[i], &is);
    if (!is) return fail(want == napi_int32_array ? "must be an Int32Array" : "must be a Float32Array", i), nullptr;
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr);
    if (type != want) return fail(want == napi_int32_array ? "must be an Int32Array" : "must be a Float32Array", i), nullptr;
    if ((double)length < need) return fail(("is too short: needs " + std::to_string((long)need) + " elements").c_str(), i), nullptr;
    return data;
  }
  float* f32(size_t i, double need, bool nullable = false) { return (float*)array(i, napi_float32_array, need, nullable); }
  int32_t* i32(size_t i, double need) { return (int32_t*)array(i, napi_int32_array, need); }
  double num(size_t i) {
    double v = 0;
    if (ok && (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok)) fail("must be a number", i);
    return v;
  }
  long count(size_t i) {
    double v = num(i);
    if (ok && !(v >= 0 && v <= 9.0e15 && v == std::floor(v))) fail("must be a non-negative integer", i);
    return (long)v;
  }
  bool flag(size_t i) {
    bool v = false;
    if (ok && (i >= argc || napi_get_value_bool(env, argv[i], &v) != napi_ok)) fail("must be a boolean", i);
    return v;
  }
};

inline napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

}  // namespace yk
