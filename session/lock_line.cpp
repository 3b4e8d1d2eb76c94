#include "session/lock_line.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "session/lock_ledger.h"

namespace cppfpm::session {
namespace {

struct Line {
  std::deque<std::uint64_t> tickets;
  std::condition_variable turn;
  std::chrono::steady_clock::time_point moved_at = std::chrono::steady_clock::now();
  bool in_turn = false;
  std::chrono::steady_clock::time_point turn_started;
};

struct Lines {
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<Line>> by_name;
  std::uint64_t next_ticket = 1;
};

// Never destroyed: worker threads may still leave lines while the process
// exits.
Lines& lines() {
  static auto* all = new Lines();
  return *all;
}

std::atomic<int> g_waiters{0};

}  // namespace

LockLine::LockLine(const void* store, std::string_view lock_key)
    : name_(std::to_string(reinterpret_cast<std::uintptr_t>(store)) + "/" + std::string(lock_key)) {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  ticket_ = all.next_ticket++;
  auto& line = all.by_name[name_];
  if (!line) line = std::make_unique<Line>();
  line->tickets.push_back(ticket_);
}

LockLine::~LockLine() {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  auto it = all.by_name.find(name_);
  if (it == all.by_name.end()) return;
  auto& tickets = it->second->tickets;
  const bool was_first = !tickets.empty() && tickets.front() == ticket_;
  std::erase(tickets, ticket_);
  if (tickets.empty()) {
    all.by_name.erase(it);
  } else if (was_first) {
    it->second->moved_at = std::chrono::steady_clock::now();
    it->second->turn.notify_all();
  }
}

bool LockLine::first() const {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  auto it = all.by_name.find(name_);
  return it != all.by_name.end() && it->second->tickets.front() == ticket_;
}

std::chrono::steady_clock::duration LockLine::still_for() const {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  auto it = all.by_name.find(name_);
  if (it == all.by_name.end()) return {};
  return std::chrono::steady_clock::now() - it->second->moved_at;
}

bool LockLine::wait_first(std::chrono::steady_clock::time_point deadline) {
  Lines& all = lines();
  std::unique_lock lock(all.mutex);
  Line* line = all.by_name.at(name_).get();  // ours until we leave it
  return line->turn.wait_until(lock, deadline, [&] { return line->tickets.front() == ticket_; });
}

void LockLine::took_lock() {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  Line* line = all.by_name.at(name_).get();
  if (!line->in_turn) {
    line->in_turn = true;
    line->turn_started = std::chrono::steady_clock::now();
  }
}

void LockLine::turn_over() {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  all.by_name.at(name_)->in_turn = false;
}

std::chrono::steady_clock::duration LockLine::turn_for() const {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  auto it = all.by_name.find(name_);
  if (it == all.by_name.end() || !it->second->in_turn) return {};
  return std::chrono::steady_clock::now() - it->second->turn_started;
}

int LockLine::waiting_total() {
  Lines& all = lines();
  std::lock_guard lock(all.mutex);
  int n = 0;
  for (const auto& [name, line] : all.by_name) n += static_cast<int>(line->tickets.size()) - 1;
  return n;
}

WaiterSlot::~WaiterSlot() {
  if (entered_) g_waiters.fetch_sub(1);
}

bool WaiterSlot::enter(int limit) {
  if (entered_) return true;
  int now = g_waiters.load();
  do {
    if (limit > 0 && now >= limit) return false;
  } while (!g_waiters.compare_exchange_weak(now, now + 1));
  entered_ = true;
  return true;
}

int WaiterSlot::waiting() {
  return g_waiters.load();
}

LockWait::LockWait(std::chrono::milliseconds wait, int limit)
    : full_(std::chrono::steady_clock::now() + wait),
      over_bound_(std::min(full_, std::chrono::steady_clock::now() + kOverBound)),
      limit_(limit) {}

std::chrono::steady_clock::time_point LockWait::deadline() {
  return slot_.enter(limit_) ? full_ : over_bound_;
}

void yield_turn_if_due(LockLedger& ledger, std::string_view lock_key, LockLine& line) {
  if (line.turn_for() < kLockTurn) return;
  auto contention = ledger.contention(lock_key);
  if (contention.waiting == 0 || contention.held) return;
  line.turn_over();
  const auto until = std::chrono::steady_clock::now() + kLockYield;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    contention = ledger.contention(lock_key);
    if (contention.waiting == 0 || contention.held) return;
  }
}

std::chrono::milliseconds hot_lock_pause(LockLedger& ledger, std::string_view lock_key,
                                         std::chrono::milliseconds pause) {
  if (pause > kHotLockPause && ledger.contention(lock_key).held) return kHotLockPause;
  return pause;
}

}  // namespace cppfpm::session
