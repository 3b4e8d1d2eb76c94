#pragma once
// Requests of one process (a child) that want the same session lock stand
// in one line, in arrival order: the first polls memcached (or holds the
// lock), the others sleep on a condition until their turn, so memcached
// sees one poller per session per child, not one per waiting request.
// Across processes the memcached lock itself decides, as with PHP.
//
// WaiterSlot bounds how many requests of the process may wait for session
// locks at once (session.lock_waiters), so waiting for a busy session never
// takes every worker thread: past the bound a request is answered at once.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cppfpm::session {

class LockLedger;

class LockLine {
 public:
  // Joins the line for `lock_key` of `store` (any address naming the store).
  LockLine(const void* store, std::string_view lock_key);
  ~LockLine();  // leaves the line; the next in line is woken
  LockLine(const LockLine&) = delete;
  LockLine& operator=(const LockLine&) = delete;

  bool first() const;
  // How long the line has had the same first request (the time since it
  // last moved).
  std::chrono::steady_clock::duration still_for() const;
  // Sleeps until this ticket is first in line; false at `deadline`.
  bool wait_first(std::chrono::steady_clock::time_point deadline);

  // The line's turn with the lock: it starts when a request of the line
  // takes the lock after someone else had it (or nobody), goes on while the
  // line hands it from one request to the next, and ends when a request of
  // the line finds it taken or gives it away (turn_over).
  void took_lock();
  void turn_over();
  // How long the current turn has lasted (0: none).
  std::chrono::steady_clock::duration turn_for() const;

  // Requests waiting in every line of the process (tests, status).
  static int waiting_total();

 private:
  std::string name_;
  std::uint64_t ticket_;
};

class WaiterSlot {
 public:
  WaiterSlot() = default;
  ~WaiterSlot();
  WaiterSlot(const WaiterSlot&) = delete;
  WaiterSlot& operator=(const WaiterSlot&) = delete;
  // Counts this request as waiting if fewer than `limit` already do
  // (limit <= 0: no bound); false when the bound is reached.
  bool enter(int limit);
  bool entered() const { return entered_; }
  // Requests of this process waiting for a session lock now.
  static int waiting();

 private:
  bool entered_ = false;
};

// How long one request may wait for a session lock: session.lock_wait
// while it counts as one of the process's `limit` waiters; past the bound
// (every waiter slot taken) it is answered busy once the lock it waits for
// has not changed hands for kOverBound (and it has waited that long), so
// waiters past the bound give their thread back quickly when a lock is
// stuck, while a hot session whose holders each take a few milliseconds
// still serves them all.
class LockWait {
 public:
  static constexpr std::chrono::milliseconds kOverBound{1000};
  LockWait(std::chrono::milliseconds wait, int limit);
  // The deadline now, trying again to count as a waiter while it does not.
  std::chrono::steady_clock::time_point deadline();
  bool counted() const { return slot_.entered(); }
  std::chrono::steady_clock::time_point full_deadline() const { return full_; }

 private:
  std::chrono::steady_clock::time_point full_;
  std::chrono::steady_clock::time_point over_bound_;
  int limit_;
  WaiterSlot slot_;
};

// Turns with a lock between children. A child whose line has had the lock
// for kLockTurn in a row, while requests of another child ask for it (the
// ledger says so), lets it go and waits, at most kLockYield (longer than
// kHotLockPause), until one of them has it: turns alternate, so one
// child's line cannot starve another's.
inline constexpr std::chrono::milliseconds kLockTurn{50};
inline constexpr std::chrono::milliseconds kLockYield{30};
// While another child holds the lock, its poller asks every kHotLockPause
// at most: a hot session's lock changes hands within milliseconds, and its
// holder may be about to give it to this child.
inline constexpr std::chrono::milliseconds kHotLockPause{5};

// Before the first in `line` polls for `lock_key`: past kLockTurn, yields.
void yield_turn_if_due(LockLedger& ledger, std::string_view lock_key, LockLine& line);
// The pause before the next attempt: `pause`, or kHotLockPause when that
// is shorter and another child holds the lock.
std::chrono::milliseconds hot_lock_pause(LockLedger& ledger, std::string_view lock_key,
                                         std::chrono::milliseconds pause);

}  // namespace cppfpm::session
