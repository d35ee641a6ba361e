// A persistent thread pool: nthreads-1 workers plus the calling (JavaScript) thread.
// A job is published by bumping a generation counter. Idle workers spin on it for a while
// (a wake-up then costs well under a microsecond) and then sleep on a condition variable
// (a wake-up then costs tens of microseconds, but an idle process burns no CPU).
#include <sched.h>
#include <time.h>

#include <cstdio>

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

// A job is nchunks independent chunks, claimed one by one through an atomic counter by
// whichever threads are running. The caller always works too, so a worker that the OS has
// descheduled (this machine is shared) delays nothing: the others take its chunks.
// state = generation * 2 + open: workers join a job only while it is open.
struct Pool {
  std::vector<std::thread> workers;
  int nthreads = 1;
  long spinMicros = 50;
  bool adaptive = true;  // YORICK_ADAPTIVE=0: always use every thread
  std::atomic<uint64_t> state{0};
  std::atomic<int> nextChunk{0};
  std::atomic<int> doneChunks{0};
  std::atomic<int> active{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> quit{false};
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  int nchunks = 0;
  std::mutex mu;
  std::condition_variable cv;
  // the caller sleeping until the job's last chunk (or last worker) is done
  std::atomic<bool> callerSleeping{false};
  std::mutex callerMu;
  std::condition_variable callerCv;
};

Pool pool;

// Wakes the caller if it went to sleep waiting for what a worker just finished.
void wakeCaller() {
  if (pool.callerSleeping.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lock(pool.callerMu);
    pool.callerCv.notify_one();
  }
}

// Claims and runs chunks until none are left.
void work(int tid) {
  const int n = pool.nchunks;
  for (int c; (c = pool.nextChunk.fetch_add(1, std::memory_order_relaxed)) < n;) {
    pool.fn(pool.ctx, c, tid);
    if (pool.doneChunks.fetch_add(1, std::memory_order_seq_cst) + 1 == n && tid != 0) wakeCaller();
  }
}

// seen: the generation when the worker was created (a job published before the thread
// gets to run must still be picked up).
void workerLoop(int tid, uint64_t seen) {
  for (;;) {
    auto published = [&] { return (pool.state.load(std::memory_order_acquire) >> 1) != seen || pool.quit.load(); };
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
    // Join only the job that is open now; a closed or newer one is skipped (the newer one is
    // picked up on the next turn of the loop).
    pool.active.fetch_add(1, std::memory_order_seq_cst);
    const uint64_t s = pool.state.load(std::memory_order_seq_cst);
    seen = s >> 1;
    if (s & 1) work(tid);
    if (pool.active.fetch_sub(1, std::memory_order_seq_cst) == 1) wakeCaller();
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
  const uint64_t gen = pool.state.load() >> 1;
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
    if (const char* s = std::getenv("YORICK_ADAPTIVE")) pool.adaptive = std::atoi(s) != 0;
    startWorkers(defaultThreads());
  }
  ~Init() { stopWorkers(); }
} init;

struct Scratch {
  float* ptr = nullptr;
  long cap = 0;
};
Scratch scratch[64][4];

// The caller's wait: spins for the spin time, then sleeps until a worker wakes it. Never
// sched_yield: on a busy machine that hands the core to another process for a whole time
// slice (milliseconds).
template <class Pred>
void waitFor(Pred pred) {
  auto until = Clock::now() + std::chrono::microseconds(pool.spinMicros);
  do {
    for (int j = 0; j < 64; j++) {
      if (pred()) return;
      cpuRelax();
    }
  } while (Clock::now() < until);
  std::unique_lock<std::mutex> lock(pool.callerMu);
  pool.callerSleeping.store(true, std::memory_order_seq_cst);
  pool.callerCv.wait(lock, pred);
  pool.callerSleeping.store(false, std::memory_order_relaxed);
}

}  // namespace

// When other processes keep the cores busy, this process gets less than nthreads CPUs
// (group scheduling shares the CPUs between sessions whatever their nice values), workers are
// descheduled in the middle of chunks and the caller waits for them: two threads are then
// slower than one. So the pool watches, over windows of jobs, how many CPUs the process
// actually gets (CPU time / wall time) and how long the caller waits for stragglers; when
// the machine looks busy for three windows in a row, jobs run on the caller alone for a
// second, then threads are tried again.
struct Adapt {
  long jobs = 0, slowWindows = 0;
  double jobSec = 0, waitSec = 0;
  Clock::time_point windowStart, soloUntil;
  double windowCpu = 0;
  long soloPeriods = 0;  // for info(): how often the pool fell back to one thread
} adapt;
enum { WINDOW_JOBS = 256 };

double processCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long poolSoloPeriods() { return adapt.soloPeriods; }

void poolRun(int nchunks, ChunkFn fn, void* ctx) {
  if (nchunks <= 0) return;
  if (pool.nthreads == 1 || nchunks == 1 || (adapt.soloPeriods > 0 && Clock::now() < adapt.soloUntil)) {
    for (int c = 0; c < nchunks; c++) fn(ctx, c, 0);
    return;
  }
  const auto t0 = Clock::now();
  if (adapt.jobs == 0) {
    adapt.windowStart = t0;
    adapt.windowCpu = processCpuSeconds();
  }
  pool.fn = fn;
  pool.ctx = ctx;
  pool.nchunks = nchunks;
  pool.nextChunk.store(0, std::memory_order_relaxed);
  pool.doneChunks.store(0, std::memory_order_relaxed);
  const uint64_t gen = (pool.state.load(std::memory_order_relaxed) >> 1) + 1;
  pool.state.store(gen << 1 | 1, std::memory_order_seq_cst);
  if (pool.sleepers.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(pool.mu); }
    pool.cv.notify_all();
  }
  work(0);
  const auto t1 = Clock::now();
  waitFor([&] { return pool.doneChunks.load(std::memory_order_acquire) == nchunks; });
  // Close the job and wait for workers still inside it (they have no chunks left to run).
  pool.state.store(gen << 1, std::memory_order_seq_cst);
  waitFor([] { return pool.active.load(std::memory_order_acquire) == 0; });
  const auto t2 = Clock::now();
  adapt.jobSec += std::chrono::duration<double>(t2 - t0).count();
  adapt.waitSec += std::chrono::duration<double>(t2 - t1).count();
  if (++adapt.jobs == WINDOW_JOBS) {
    const double wall = std::chrono::duration<double>(t2 - adapt.windowStart).count();
    const double cpus = (processCpuSeconds() - adapt.windowCpu) / wall;
    // a single slow window is noise (another process started for a moment): three in a row
    const bool slow = cpus < 0.6 + 0.3 * pool.nthreads || adapt.waitSec > 0.3 * adapt.jobSec;
    adapt.slowWindows = slow ? adapt.slowWindows + 1 : 0;
    const bool busy = adapt.slowWindows >= 3;
    if (std::getenv("YORICK_POOL_DEBUG"))
      fprintf(stderr, "pool window: %.2f cpus, wait %.0f%% of %.1f ms in jobs, wall %.1f ms%s\n", cpus,
              100 * adapt.waitSec / adapt.jobSec, adapt.jobSec * 1e3, wall * 1e3, busy ? " -> one thread" : "");
    if (pool.adaptive && busy) {
      adapt.soloUntil = t2 + std::chrono::seconds(1);
      adapt.soloPeriods++;
      adapt.slowWindows = 0;
    }
    adapt.jobs = 0;
    adapt.jobSec = adapt.waitSec = 0;
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
