#include "server/fastcgi/worker_pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cppfpm::server {
namespace {

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

thread_local WorkerPool::Slot* t_slot = nullptr;
thread_local std::uint32_t t_generation = 0;

}  // namespace

WorkerPool::WorkerPool(int threads, Serve serve) : serve_(std::move(serve)) {
  // Replaced threads may briefly stand idle beside their successors.
  idle_.reserve(static_cast<std::size_t>(threads) * 2 + 8);
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
  // A worker checks the queue again under the mutex before it stands in
  // idle_: either it sees this push, or it stands there by now.
  Sleeper* sleeper = nullptr;
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_.empty()) {
      sleeper = idle_.back();
      idle_.pop_back();
    }
  }
  if (sleeper) {
    sleeper->rung.store(1, std::memory_order_release);
    futex_wake(sleeper->rung);
  }
}

Connection* WorkerPool::take() {
  thread_local Sleeper me;
  Connection* connection = nullptr;
  while (true) {
    if (queue_.try_pop(connection)) return connection;
    {
      std::lock_guard lock(idle_mutex_);
      if (queue_.try_pop(connection)) return connection;
      me.rung.store(0, std::memory_order_relaxed);
      idle_.push_back(&me);
    }
    // Only submit() takes it out of idle_, and then rings: wait for that
    // (a futex wait may also return for nothing).
    while (me.rung.load(std::memory_order_acquire) == 0) futex_wait(me.rung, 0);
    // Another worker may have taken the connection meanwhile: then stand
    // in line again.
  }
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
