#include "server/fastcgi/worker_pool.h"

namespace cppfpm::server {
namespace {

thread_local WorkerPool::Slot* t_slot = nullptr;
thread_local std::uint32_t t_generation = 0;

}  // namespace

WorkerPool::WorkerPool(int threads, Serve serve) : serve_(std::move(serve)) {
  for (int i = 0; i < threads; ++i) slots_.push_back(std::make_unique<Slot>());
  for (int i = 0; i < threads; ++i) start_thread(i);
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start_thread(int index) {
  Slot& s = slot(index);
  std::uint32_t generation = s.generation.load();
  std::lock_guard lock(threads_mutex_);
  threads_.emplace_back([this, index, generation] { work(index, generation); });
  s.thread = threads_.back().native_handle();
  ::pthread_setname_np(s.thread, "cppfpm-worker");
}

bool WorkerPool::current_thread_abandoned() {
  return t_slot != nullptr && t_slot->generation.load() != t_generation;
}

void WorkerPool::replace(int index) {
  Slot& s = slot(index);
  pthread_t stuck = s.thread;
  s.generation.fetch_add(1);
  s.fd = -1;
  s.started_us = 0;
  {
    std::lock_guard lock(threads_mutex_);
    for (auto it = threads_.begin(); it != threads_.end(); ++it) {
      if (it->native_handle() == stuck) {
        it->detach();
        threads_.erase(it);
        break;
      }
    }
  }
  start_thread(index);
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(threads_mutex_);
    if (stopped_) return;
    stopped_ = true;
    threads.swap(threads_);
  }
  for (std::size_t i = 0; i < threads.size(); ++i) submit(nullptr);
  for (auto& t : threads) t.join();
}

void WorkerPool::submit(Connection* connection) {
  queue_.push(connection);
  // A worker between its empty check and its wait holds the mutex: taking
  // it here orders the push before that check or after the wait began.
  { std::lock_guard lock(sleep_mutex_); }
  wake_.notify_one();
}

Connection* WorkerPool::take() {
  Connection* connection = nullptr;
  if (queue_.try_pop(connection)) return connection;
  std::unique_lock lock(sleep_mutex_);
  wake_.wait(lock, [&] { return queue_.try_pop(connection); });
  return connection;
}

void WorkerPool::work(int index, std::uint32_t generation) {
  t_slot = &slot(index);
  t_generation = generation;
  while (true) {
    Connection* connection = take();
    if (connection == nullptr) return;
    serve_(connection, index);
    if (current_thread_abandoned()) return;  // a fresh thread owns the slot now
  }
}

}  // namespace cppfpm::server
