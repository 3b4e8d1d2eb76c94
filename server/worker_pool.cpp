#include "server/worker_pool.h"

#include <pthread.h>

namespace cppfpm::server {

WorkerPool::WorkerPool(int threads, Serve serve) : serve_(std::move(serve)) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { work(); });
    ::pthread_setname_np(threads_.back().native_handle(), "cppfpm-worker");
  }
}

WorkerPool::~WorkerPool() { stop(); }

std::size_t WorkerPool::queued() const {
  auto n = queue_.size();  // negative when threads wait on an empty queue
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void WorkerPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (std::size_t i = 0; i < threads_.size(); ++i) queue_.push(nullptr);
  for (auto& t : threads_) t.join();
}

void WorkerPool::work() {
  while (true) {
    Connection* connection = nullptr;
    queue_.pop(connection);
    if (connection == nullptr) return;
    busy_.fetch_add(1, std::memory_order_relaxed);
    serve_(connection);
    busy_.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace cppfpm::server
