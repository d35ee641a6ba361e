// A persistent thread pool: nthreads-1 workers plus the calling (JavaScript) thread.
// A job is published by bumping a generation counter. Idle workers spin on it for a while
// (a wake-up then costs well under a microsecond) and then sleep on a condition variable
// (a wake-up then costs tens of microseconds, but an idle process burns no CPU).
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
static inline void cpuRelax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpuRelax() { __asm__ __volatile__("yield"); }
#else
static inline void cpuRelax() {}
#endif

namespace yk {
namespace {

typedef std::chrono::steady_clock Clock;

struct Pool {
  std::vector<std::thread> workers;
  int nthreads = 1;
  long spinMicros = 200;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> quit{false};
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  // barrier
  std::atomic<int> barrierCount{0};
  std::atomic<uint64_t> barrierGen{0};
};

Pool pool;

// Waits until pred() holds: spinning for the pool's spin time, then yielding or sleeping.
template <class Pred>
void spinThenYield(Pred pred) {
  if (pred()) return;
  auto until = Clock::now() + std::chrono::microseconds(pool.spinMicros);
  for (int i = 0;; i++) {
    for (int j = 0; j < 16; j++) {
      if (pred()) return;
      cpuRelax();
    }
    if (Clock::now() > until) break;
  }
  while (!pred()) std::this_thread::yield();
}

// seen: the generation when the worker was created (a job published before the thread
// gets to run must still be picked up).
void workerLoop(int tid, uint64_t seen) {
  for (;;) {
    auto published = [&] { return pool.generation.load(std::memory_order_acquire) != seen || pool.quit.load(); };
    if (!published()) {
      auto until = Clock::now() + std::chrono::microseconds(pool.spinMicros);
      while (!published() && Clock::now() < until) {
        for (int j = 0; j < 16 && !published(); j++) cpuRelax();
      }
    }
    if (!published()) {
      std::unique_lock<std::mutex> lock(pool.mu);
      pool.sleepers.fetch_add(1);
      pool.cv.wait(lock, published);
      pool.sleepers.fetch_sub(1);
    }
    if (pool.quit.load()) return;
    seen = pool.generation.load(std::memory_order_acquire);
    pool.fn(pool.ctx, tid, pool.nthreads);
    pool.remaining.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void stopWorkers() {
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.quit.store(true);
  }
  pool.cv.notify_all();
  for (auto& t : pool.workers) t.join();
  pool.workers.clear();
  pool.quit.store(false);
}

void startWorkers(int n) {
  pool.nthreads = n < 1 ? 1 : (n > 64 ? 64 : n);
  const uint64_t gen = pool.generation.load();
  for (int t = 1; t < pool.nthreads; t++) pool.workers.emplace_back(workerLoop, t, gen);
}

int defaultThreads() {
  if (const char* s = std::getenv("YORICK_THREADS")) {
    int n = std::atoi(s);
    if (n > 0) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? (int)hc : 1;
}

struct Init {
  Init() {
    if (const char* s = std::getenv("YORICK_SPIN_US")) pool.spinMicros = std::atol(s);
    startWorkers(defaultThreads());
  }
  ~Init() { stopWorkers(); }
} init;

struct Scratch {
  float* ptr = nullptr;
  long cap = 0;
};
Scratch scratch[64][4];

}  // namespace

void poolRun(TaskFn fn, void* ctx) {
  int nth = pool.nthreads;
  if (nth == 1) {
    fn(ctx, 0, 1);
    return;
  }
  pool.fn = fn;
  pool.ctx = ctx;
  pool.remaining.store(nth - 1, std::memory_order_relaxed);
  pool.generation.fetch_add(1, std::memory_order_seq_cst);
  if (pool.sleepers.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(pool.mu); }
    pool.cv.notify_all();
  }
  fn(ctx, 0, nth);
  spinThenYield([] { return pool.remaining.load(std::memory_order_acquire) == 0; });
}

void poolBarrier() {
  int nth = pool.nthreads;
  if (nth == 1) return;
  uint64_t gen = pool.barrierGen.load(std::memory_order_acquire);
  if (pool.barrierCount.fetch_add(1, std::memory_order_acq_rel) + 1 == nth) {
    pool.barrierCount.store(0, std::memory_order_relaxed);
    pool.barrierGen.fetch_add(1, std::memory_order_release);
  } else {
    spinThenYield([gen] { return pool.barrierGen.load(std::memory_order_acquire) != gen; });
  }
}

int poolThreads() { return pool.nthreads; }

void poolSetThreads(int n) {
  stopWorkers();
  startWorkers(n > 0 ? n : defaultThreads());
}

void poolSetSpin(long micros) { pool.spinMicros = micros < 0 ? 0 : micros; }
long poolSpin() { return pool.spinMicros; }

float* poolScratch(int tid, int slot, long n) {
  Scratch& s = scratch[tid][slot];
  if (s.cap < n) {
    std::free(s.ptr);
    long cap = (n + 15) & ~15L;
    s.ptr = (float*)std::aligned_alloc(64, cap * sizeof(float));
    s.cap = cap;
  }
  return s.ptr;
}

}  // namespace yk
