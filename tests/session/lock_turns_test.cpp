// A hot session shared by two children: the child whose requests have had
// the lock for a turn lets a waiting child have it, and a child waits for a
// lock another child holds with short polls. The other child is played by a
// test thread through a LockLedger that reports its contention.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "session/lock_ledger.h"
#include "session/lock_line.h"
#include "session/lock_token.h"
#include "session/memory_store.h"
#include "session/session.h"

using namespace cppfpm::session;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kId = "lockturns0123456789abcdefg";

// This process's ledger, which also tells what "the other child" (a test
// thread) is doing with the lock.
class OtherChildLedger : public LockLedger {
 public:
  std::atomic<int> other_waiting{0};
  std::atomic<bool> other_held{false};
  int taken(std::string_view, std::uint64_t) override { return 0; }
  void acquired(int) override {}
  void released(int) override {}
  Contention contention(std::string_view) override {
    return {other_waiting.load(), other_held.load()};
  }
};

class LedgerInstalled {
 public:
  explicit LedgerInstalled(LockLedger* ledger) { set_lock_ledger(ledger); }
  ~LedgerInstalled() { set_lock_ledger(nullptr); }
};

template <typename F>
bool eventually(F condition, Clock::duration limit = 5s) {
  const auto end = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct Round {
  bool ok = false;           // A, B (and the other child) all got the lock
  bool other_first = false;  // the other child had it before B
  Clock::duration b_wait{};  // from A's release to B holding the lock
};

// Request A of this child holds the lock for `hold` while request B of
// this child stands in line behind it. The other child asks for the lock
// from the start; with `other_takes` it polls the store every millisecond
// and takes it for 10 ms, else it only asks (it never gets to poll).
// Worker threads only record; the test thread checks.
Round run_round(OtherChildLedger& ledger, std::chrono::milliseconds hold, bool other_takes) {
  MemoryStore store;
  Settings settings;
  settings.lock_wait = 10s;
  settings.lock_waiters = -1;
  const std::string lock_key = kId + ".lock";
  std::atomic<bool> a_ok{false}, a_locked{false}, b_ok{false}, b_locked{false}, other_ok{false},
      other_first{false}, stop_other{false};
  std::atomic<Clock::rep> released_at{0}, b_locked_at{0};
  ledger.other_waiting = 1;

  std::thread a([&] {
    Session s(store, settings);
    if (s.start("PHPSESSID=" + kId) != StoreResult::ok) return;
    a_locked = true;
    eventually([] { return LockLine::waiting_total() == 1; });  // B stands in line
    std::this_thread::sleep_for(hold);
    released_at = Clock::now().time_since_epoch().count();
    a_ok = s.commit() == StoreResult::ok;
  });
  eventually([&] { return a_locked.load(); });
  std::thread b([&] {
    Session s(store, settings);
    if (s.start("PHPSESSID=" + kId) != StoreResult::ok) return;
    b_locked_at = Clock::now().time_since_epoch().count();
    b_locked = true;
    b_ok = s.commit() == StoreResult::ok;
    ledger.other_waiting = other_takes && !other_ok ? 1 : 0;
  });
  std::thread other([&] {
    if (!other_takes) return;
    const std::uint64_t token = new_lock_token();
    while (!stop_other && store.try_lock(lock_key, 15s, token) != StoreResult::ok)
      std::this_thread::sleep_for(1ms);
    if (stop_other) return;
    other_first = !b_locked.load();
    ledger.other_waiting = 0;
    ledger.other_held = true;
    std::this_thread::sleep_for(10ms);
    ledger.other_held = false;
    other_ok = store.unlock(lock_key, token, true) == StoreResult::ok;
  });
  a.join();
  b.join();
  if (!other_takes) ledger.other_waiting = 0;
  eventually([&] { return other_ok.load() || !other_takes; });
  stop_other = true;
  other.join();
  Round r;
  r.ok = a_ok && b_ok && (other_ok || !other_takes);
  r.other_first = other_first;
  r.b_wait = Clock::duration(b_locked_at.load() - released_at.load());
  return r;
}

}  // namespace

TEST_CASE("lock turns: after a turn of 50 ms the lock goes to the other child waiting for it",
          "[session][lock]") {
  OtherChildLedger ledger;
  LedgerInstalled installed(&ledger);
  // A's turn lasts 80 ms, past the 50 ms turn: B lets the other child
  // (polling every millisecond) take the lock first.
  for (int round = 0; round < 3; ++round) {
    Round r = run_round(ledger, 80ms, true);
    CHECK(r.ok);
    CHECK(r.other_first);
  }
}

TEST_CASE("lock turns: a turn is given up for at most 30 ms when the other child does not come",
          "[session][lock]") {
  OtherChildLedger ledger;
  LedgerInstalled installed(&ledger);
  Round r = run_round(ledger, 80ms, false);
  CHECK(r.ok);
  CHECK(r.b_wait >= 30ms);
  CHECK(r.b_wait < 1s);
}

TEST_CASE("lock turns: within a turn the lock passes at once to the next request of the child",
          "[session][lock]") {
  OtherChildLedger ledger;
  LedgerInstalled installed(&ledger);
  // A holds it 5 ms: the turn is young, B takes it without waiting for the
  // other child that asks for it.
  Round r = run_round(ledger, 5ms, false);
  CHECK(r.ok);
  CHECK(r.b_wait < 25ms);
}

TEST_CASE("lock turns: a lock held by another child is polled every 5 ms, not 50 ms",
          "[session][lock]") {
  OtherChildLedger ledger;
  LedgerInstalled installed(&ledger);
  MemoryStore store;
  Settings settings;
  settings.lock_wait = 10s;
  const std::string lock_key = kId + ".lock";
  const std::uint64_t token = new_lock_token();
  REQUIRE(store.try_lock(lock_key, 15s, token) == StoreResult::ok);
  ledger.other_held = true;
  std::atomic<bool> locked{false};
  Clock::time_point locked_at;
  std::thread waiter([&] {
    Session s(store, settings);
    REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
    locked_at = Clock::now();
    locked = true;
    s.commit();
  });
  std::this_thread::sleep_for(300ms);  // the back-off would have reached its 50 ms cap
  const auto released_at = Clock::now();
  ledger.other_held = false;
  store.unlock(lock_key, token, true);
  waiter.join();
  REQUIRE(locked.load());
  // Polled every 5 ms (plus scheduling): well under the 50 ms pause.
  CHECK(locked_at - released_at < 30ms);
}
