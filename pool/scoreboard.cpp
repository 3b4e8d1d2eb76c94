#include "pool/scoreboard.h"

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

namespace cppfpm::pool {
namespace {

void raise_to(std::atomic<int>& target, int value) {
  int seen = target.load();
  while (seen < value && !target.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

std::int64_t now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Scoreboard::Scoreboard(int max_children, int threads)
    : max_children_(max_children), threads_(threads) {
  std::size_t children = static_cast<std::size_t>(max_children);
  std::size_t thread_slots = children * static_cast<std::size_t>(threads);
  size_ = sizeof(PoolCounters) + children * sizeof(ChildSlot) + thread_slots * sizeof(ThreadSlot);
  base_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base_ == MAP_FAILED)
    throw std::runtime_error(std::string("mmap() failed for the scoreboard: ") +
                             std::strerror(errno));
  auto* p = static_cast<char*>(base_);
  pool_ = new (p) PoolCounters();
  p += sizeof(PoolCounters);
  children_ = reinterpret_cast<ChildSlot*>(p);
  for (std::size_t i = 0; i < children; ++i) new (&children_[i]) ChildSlot();
  p += children * sizeof(ChildSlot);
  threads_base_ = reinterpret_cast<ThreadSlot*>(p);
  for (std::size_t i = 0; i < thread_slots; ++i) new (&threads_base_[i]) ThreadSlot();
  pool_->start_us = now_us();
}

Scoreboard::~Scoreboard() {
  if (base_ && base_ != MAP_FAILED) ::munmap(base_, size_);
}

ChildSlot& Scoreboard::child(int index) {
  return children_[index];
}

ThreadSlot& Scoreboard::thread(int child_index, int thread_index) {
  return threads_base_[static_cast<std::size_t>(child_index) * static_cast<std::size_t>(threads_) +
                       static_cast<std::size_t>(thread_index)];
}

int Scoreboard::claim(pid_t pid, std::int64_t now) {
  for (int i = 0; i < max_children_; ++i) {
    ChildSlot& c = children_[i];
    if (c.state.load() != static_cast<int>(ChildState::free)) continue;
    c.pid = pid;
    c.started_us = now;
    c.requests = 0;
    c.busy_threads = 0;
    c.waiting = 0;
    c.last_request_us = 0;
    c.last_request_end_us = 0;
    c.idle_since_us = now;
    for (int t = 0; t < threads_; ++t) {
      thread(i, t).request_start_us = 0;
      thread(i, t).lock_token = 0;
      thread(i, t).last_end_us = 0;
    }
    c.state = static_cast<int>(ChildState::idle);
    return i;
  }
  return -1;
}

void Scoreboard::release(int index) {
  if (index < 0 || index >= max_children_) return;
  children_[index].pid = 0;
  children_[index].busy_threads = 0;
  children_[index].waiting = 0;
  children_[index].state = static_cast<int>(ChildState::free);
}

int Scoreboard::find(pid_t pid) const {
  for (int i = 0; i < max_children_; ++i)
    if (children_[i].pid.load() == pid &&
        children_[i].state.load() != static_cast<int>(ChildState::free))
      return i;
  return -1;
}

void Scoreboard::request_started(int ci, int ti, std::int64_t now, const std::string& method,
                                 const std::string& script, const std::string& query) {
  ThreadSlot& t = thread(ci, ti);
  t.seq.fetch_add(1);  // odd: being written
  std::atomic_thread_fence(std::memory_order_release);
  store_text(t.method, sizeof(t.method), method);
  store_text(t.script, sizeof(t.script), script);
  store_text(t.query, sizeof(t.query), query);
  t.seq.fetch_add(1, std::memory_order_release);
  t.request_start_us = now;
  child_busy(ci);
}

void Scoreboard::request_finished(int ci, int ti, std::int64_t now, std::int64_t cpu_us,
                                  std::int64_t memory) {
  ThreadSlot& t = thread(ci, ti);
  t.last_cpu_us = cpu_us;
  t.last_memory = memory;
  std::int64_t started = t.request_start_us.exchange(0);
  if (started > 0) t.last_end_us = now;
  child_done(ci, started, now);
}

void Scoreboard::page_started(int ci) {
  child_busy(ci);
}

void Scoreboard::page_finished(int ci, std::int64_t started_us, std::int64_t now) {
  child_done(ci, started_us, now);
}

void Scoreboard::child_busy(int ci) {
  ChildSlot& c = children_[ci];
  // php-fpm counts a request when its headers start to arrive
  // (fpm_request_reading_headers), so a status page counts itself.
  c.requests.fetch_add(1);
  if (c.busy_threads.fetch_add(1) == 0) {
    int expected = static_cast<int>(ChildState::idle);
    c.state.compare_exchange_strong(expected, static_cast<int>(ChildState::active));
    raise_to(pool_->max_active_processes, counts().active);
  }
}

void Scoreboard::child_done(int ci, std::int64_t started, std::int64_t now) {
  ChildSlot& c = children_[ci];
  if (started > 0) c.last_request_us = now - started;
  c.last_request_end_us = now;
  if (c.busy_threads.fetch_sub(1) == 1) {
    c.idle_since_us = now;
    int expected = static_cast<int>(ChildState::active);
    c.state.compare_exchange_strong(expected, static_cast<int>(ChildState::idle));
  }
}

int Scoreboard::lock_taken(int ci, std::string_view key, std::uint64_t token) {
  if (key.size() >= sizeof(ThreadSlot::lock_key) || token <= 1) return -1;
  for (int t = 0; t < threads_; ++t) {
    ThreadSlot& slot = thread(ci, t);
    std::uint64_t expected = 0;
    if (!slot.lock_token.compare_exchange_strong(expected, 1)) continue;
    store_text(slot.lock_key, sizeof(slot.lock_key), key);
    slot.lock_held.store(0);
    slot.lock_token.store(token);  // published after the key
    return t;
  }
  return -1;
}

void Scoreboard::lock_acquired(int ci, int entry) {
  if (entry < 0 || entry >= threads_) return;
  thread(ci, entry).lock_held.store(1);
}

void Scoreboard::lock_released(int ci, int entry) {
  if (entry < 0 || entry >= threads_) return;
  thread(ci, entry).lock_held.store(0);
  thread(ci, entry).lock_token.store(0);
}

// A heuristic read of other processes' entries: an entry rewritten while
// it is read may be missed or miscounted once, which only moves a lock's
// hand-over by one poll.
Scoreboard::LockContention Scoreboard::lock_contention(int ci, std::string_view key) {
  LockContention out;
  for (int i = 0; i < max_children_; ++i) {
    if (i == ci || children_[i].pid.load() == 0) continue;
    for (int t = 0; t < threads_; ++t) {
      ThreadSlot& slot = thread(i, t);
      if (slot.lock_token.load() <= 1) continue;
      if (load_text(slot.lock_key, sizeof(slot.lock_key)) != key) continue;
      if (slot.lock_held.load())
        out.held = true;
      else
        ++out.waiting;
    }
  }
  return out;
}

std::vector<HeldLock> Scoreboard::held_locks(int ci) {
  std::vector<HeldLock> out;
  for (int t = 0; t < threads_; ++t) {
    ThreadSlot& slot = thread(ci, t);
    const std::uint64_t token = slot.lock_token.load();
    if (token <= 1) continue;
    out.push_back(HeldLock{load_text(slot.lock_key, sizeof(slot.lock_key)), token});
  }
  return out;
}

Scoreboard::Counts Scoreboard::counts() const {
  Counts n;
  for (int i = 0; i < max_children_; ++i) {
    int s = children_[i].state.load();
    if (s == static_cast<int>(ChildState::idle)) ++n.idle;
    if (s == static_cast<int>(ChildState::active)) ++n.active;
    if (s != static_cast<int>(ChildState::free)) ++n.total;
  }
  return n;
}

int Scoreboard::waiting() const {
  int n = 0;
  for (int i = 0; i < max_children_; ++i)
    if (children_[i].state.load() != static_cast<int>(ChildState::free))
      n += std::max(0, children_[i].waiting.load());
  return n;
}

}  // namespace cppfpm::pool
