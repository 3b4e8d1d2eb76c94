#pragma once
// A child's worker threads. The event loop hands them connections whose
// request head has arrived; each thread serves one request at a time.
// Thread i always reports into scoreboard thread slot i; a thread stuck
// past request_terminate_timeout is abandoned and a fresh thread takes its
// slot, so the child's capacity comes back.
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <tbb/concurrent_queue.h>

#include "server/fastcgi/connection.h"

namespace cppfpm::server {

class WorkerPool {
 public:
  // What a worker slot is doing, readable from the loop thread.
  struct Slot {
    std::atomic<int> fd{-1};                  // connection being served, -1 when idle
    std::atomic<std::int64_t> started_us{0};  // request start (CLOCK_REALTIME), 0 when idle
    std::atomic<std::uint32_t> generation{0};
    std::atomic<bool> slow_logged{false};
    pthread_t thread{};
  };
  // Serves one connection on worker slot `index`.
  using Serve = std::function<void(Connection*, int index)>;

  WorkerPool(int threads, Serve serve);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(Connection* connection);
  // Lets every thread finish its current request, then joins them.
  void stop();

  int size() const { return static_cast<int>(slots_.size()); }
  Slot& slot(int index) { return *slots_[static_cast<std::size_t>(index)]; }
  // Gives up on the thread in `index` (it is stuck in a handler) and starts
  // a new one in its place. The old thread exits when its handler returns.
  void replace(int index);
  // True when the calling worker thread was replaced and must not report.
  static bool current_thread_abandoned();

 private:
  void start_thread(int index);
  void work(int index, std::uint32_t generation);
  Connection* take();

  // An idle worker's bell: 0 while it sleeps, 1 once submit() chose it.
  struct Sleeper {
    std::atomic<std::uint32_t> rung{0};
  };

  Serve serve_;
  // The lock-free tbb::concurrent_queue holds the work. Idle workers stand
  // in `idle_` (last in, first woken: its caches are the warmest) and sleep
  // on their own futex; submit() wakes one with one FUTEX_WAKE. (A
  // condition variable cost one more futex call per hand-off: the woken
  // thread re-took the mutex as contended and woke no one on unlocking it.
  // concurrent_bounded_queue spins with sched_yield before it sleeps; with
  // many idle workers on a 2-core box that spinning took the CPU the busy
  // ones needed.)
  tbb::concurrent_queue<Connection*> queue_;
  std::mutex idle_mutex_;
  std::vector<Sleeper*> idle_;  // reserved for every thread: no allocation
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;  // live threads, joined by stop()
  bool stopped_ = false;
};

}  // namespace cppfpm::server
