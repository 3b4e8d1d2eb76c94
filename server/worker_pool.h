#pragma once
// A child's worker threads. The event loop hands them connections whose
// request head has arrived; each thread serves one request at a time.
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <tbb/concurrent_queue.h>

#include "server/connection.h"

namespace cppfpm::server {

class WorkerPool {
 public:
  using Serve = std::function<void(Connection*)>;

  WorkerPool(int threads, Serve serve);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(Connection* connection) { queue_.push(connection); }
  // Lets every thread finish its current request, then joins them.
  void stop();

  int size() const { return static_cast<int>(threads_.size()); }
  int busy() const { return busy_.load(std::memory_order_relaxed); }
  std::size_t queued() const;

 private:
  void work();

  Serve serve_;
  tbb::concurrent_bounded_queue<Connection*> queue_;
  std::vector<std::thread> threads_;
  std::atomic<int> busy_{0};
  bool stopped_ = false;
};

}  // namespace cppfpm::server
