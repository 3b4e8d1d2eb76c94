// Session locking as pecl-memcache does it, on the in-process store: the
// `<key>.lock` protocol, serialized read-modify-write, bounded waits, and
// a dead holder's lock expiring.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "session/lock_ledger.h"
#include "session/lock_line.h"
#include "session/lock_token.h"
#include "session/memory_store.h"
#include "session/orphan_locks.h"
#include "session/session.h"

using namespace cppfpm::session;
using namespace std::chrono_literals;

namespace {

const std::string kId = "0123456789abcdefghijklmnop";

std::int64_t counter_of(MemoryStore& store) {
  std::string stored;
  if (store.read(kId, stored) != StoreResult::ok) return -1;
  auto vars = decode_session(stored, Format::php);
  if (!vars || !vars->find("n") || !vars->find("n")->as_int()) return -1;
  return *vars->find("n")->as_int();
}

}  // namespace

TEST_CASE("session lock: add of the owner's token, PHP's released 0 taken over, verified unlock",
          "[session][lock]") {
  MemoryStore store;
  const std::string key = kId + ".lock";
  const std::uint64_t mine = new_lock_token();
  const std::uint64_t theirs = new_lock_token();
  REQUIRE(mine != theirs);
  CHECK(store.try_lock(key, 15s, mine) == StoreResult::ok);      // add
  CHECK(store.try_lock(key, 15s, theirs) == StoreResult::busy);  // held
  std::string value;
  REQUIRE(store.read(key, value) == StoreResult::ok);
  CHECK(value == lock_value(mine));
  // Someone else's verified unlock leaves it; ours removes it.
  CHECK(store.unlock(key, theirs, true) == StoreResult::not_found);
  CHECK(store.read(key, value) == StoreResult::ok);
  CHECK(store.unlock(key, mine, true) == StoreResult::ok);
  CHECK(store.read(key, value) == StoreResult::not_found);
  CHECK(store.unlock(key, mine, true) == StoreResult::not_found);
  // PHP's release (PS_WRITE_FUNC) sets the integer 0: the next one takes it.
  REQUIRE(store.write(key, "0", 15s) == StoreResult::ok);
  CHECK(store.try_lock(key, 15s, theirs) == StoreResult::ok);
  CHECK(store.try_lock(key, 15s, mine) == StoreResult::busy);
  // PHP's own lock (1, 2, ...) is nobody's token here.
  REQUIRE(store.write(key, "3", 15s) == StoreResult::ok);
  CHECK(store.unlock(key, theirs, true) == StoreResult::not_found);
  CHECK(store.try_lock("bad key.lock", 15s, mine) == StoreResult::unavailable);
}

TEST_CASE("session lock: a token names its owner under PHP's increments", "[session][lock]") {
  const std::uint64_t token = new_lock_token();
  CHECK(token >= (std::uint64_t{1} << 62));
  CHECK((token & 0xffffffffu) == 0);
  CHECK(lock_value_owned_by(lock_value(token), token));
  // pecl-memcache's waiters `incr` a held lock once per attempt.
  CHECK(lock_value_owned_by(std::to_string(token + 1), token));
  CHECK(lock_value_owned_by(std::to_string(token + 100000), token));
  CHECK_FALSE(lock_value_owned_by(std::to_string(token + (std::uint64_t{1} << 32)), token));
  CHECK_FALSE(lock_value_owned_by("1", token));
  CHECK_FALSE(lock_value_owned_by("0", token));
  CHECK_FALSE(lock_value_owned_by("", token));
  CHECK_FALSE(lock_value_owned_by(lock_value(token) + "x", token));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(new_lock_token());
  CHECK(seen.size() == 1000);
}

TEST_CASE("session lock: held from start() to commit() and released by the destructor too",
          "[session][lock]") {
  MemoryStore store;
  Settings settings;
  std::string value;
  {
    Session s(store, settings);
    REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
    CHECK(s.locked());
    REQUIRE(store.read(kId + ".lock", value) == StoreResult::ok);
    CHECK(value.size() == 19);  // a token, see lock_token.h
    REQUIRE(s.commit() == StoreResult::ok);
    CHECK_FALSE(s.locked());
    CHECK(store.read(kId + ".lock", value) == StoreResult::not_found);
  }
  {
    Session s(store, settings);
    REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
    CHECK(s.locked());
  }  // no commit: a page that failed half-way
  CHECK(store.read(kId + ".lock", value) == StoreResult::not_found);
  settings.lock = false;
  Session s(store, settings);
  REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
  CHECK_FALSE(s.locked());
}

TEST_CASE("session lock: 16 threads x 25 increments end at 400", "[session][lock]") {
  MemoryStore store;
  Settings settings;
  settings.lock_wait = 20s;
  REQUIRE(store.write(kId, "n|i:0;", 0s) == StoreResult::ok);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        Session s(store, settings);
        if (s.start("PHPSESSID=" + kId) != StoreResult::ok) {
          ++failures;
          continue;
        }
        std::int64_t n = *s.vars().find("n")->as_int();
        std::this_thread::yield();
        s.vars().set("n", PhpValue(n + 1));
        if (s.commit() != StoreResult::ok) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(counter_of(store) == 400);
}

TEST_CASE("session lock: without the lock the same race loses updates", "[session][lock]") {
  MemoryStore store;
  Settings settings;
  settings.lock = false;
  settings.lazy_write = false;
  REQUIRE(store.write(kId, "n|i:0;", 0s) == StoreResult::ok);
  std::vector<std::thread> threads;
  std::atomic<int> failed_starts{0};  // Catch2's assertions are not for other threads
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Session s(store, settings);
        if (s.start("PHPSESSID=" + kId) != StoreResult::ok) {
          ++failed_starts;
          continue;
        }
        std::int64_t n = *s.vars().find("n")->as_int();
        std::this_thread::sleep_for(100us);
        s.vars().set("n", PhpValue(n + 1));
        s.commit();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed_starts == 0);
  CHECK(counter_of(store) < 400);  // why session.lock exists
}

TEST_CASE("session lock: the wait is bounded by lock_wait and lock_retries", "[session][lock]") {
  MemoryStore store;
  Settings settings;
  REQUIRE(store.try_lock(kId + ".lock", 60s, new_lock_token()) ==
          StoreResult::ok);  // held by someone else
  settings.lock_wait = 300ms;
  {
    Session s(store, settings);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(s.start("PHPSESSID=" + kId) == StoreResult::busy);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited >= 280ms);
    CHECK(waited < 1500ms);
    CHECK_FALSE(s.started());
  }
  settings.lock_wait = 60s;
  settings.lock_retries = 3;  // 5 ms + 10 ms of sleeping
  {
    Session s(store, settings);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(s.start("PHPSESSID=" + kId) == StoreResult::busy);
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  }
  // A waiter that gave up must not release the holder's lock.
  std::string value;
  REQUIRE(store.read(kId + ".lock", value) == StoreResult::ok);
  CHECK(value != "0");  // still held
}

TEST_CASE("session lock: a dead holder's lock expires after lock_expire", "[session][lock]") {
  MemoryStore store;
  Settings settings;
  settings.lock_expire = 1s;
  settings.lock_wait = 5s;
  REQUIRE(store.try_lock(kId + ".lock", 1s, new_lock_token()) ==
          StoreResult::ok);  // its holder "dies"
  Session s(store, settings);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 900ms);
  CHECK(waited < 3s);
}

namespace {

// A store that counts lock polls and can answer them "too late": the add
// is done, but the caller hears nothing (memcached frozen past the client
// timeout executes it when it resumes).
class LateLockStore : public MemoryStore {
 public:
  std::atomic<bool> late{false};
  std::atomic<int> polls{0};
  StoreResult try_lock(std::string_view key, std::chrono::seconds expire,
                       std::uint64_t token) override {
    ++polls;
    const StoreResult result = MemoryStore::try_lock(key, expire, token);
    return late ? StoreResult::unavailable : result;
  }
};

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + within;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class RecordingLedger : public LockLedger {
 public:
  std::mutex mutex;
  std::vector<std::pair<std::string, std::uint64_t>> held{8};
  int taken(std::string_view key, std::uint64_t token) override {
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < held.size(); ++i)
      if (held[i].second == 0) {
        held[i] = {std::string(key), token};
        return static_cast<int>(i);
      }
    return -1;
  }
  void acquired(int) override {}
  void released(int entry) override {
    std::lock_guard lock(mutex);
    held[static_cast<std::size_t>(entry)] = {"", 0};
  }
  Contention contention(std::string_view) override { return {}; }
};

}  // namespace

TEST_CASE("session lock: an add answered too late leaves no lock behind", "[session][lock]") {
  LateLockStore store;
  Settings settings;
  settings.lock_wait = 10s;
  const std::uint64_t released_before = OrphanLocks::of_process().released();
  store.late = true;
  {
    Session s(store, settings);
    CHECK(s.start("PHPSESSID=" + kId) == StoreResult::unavailable);
  }
  std::string value;
  REQUIRE(store.read(kId + ".lock", value) == StoreResult::ok);  // taken all the same
  store.late = false;
  // The next request finds it taken by nobody alive, and its process
  // recognises the token as its own: released, not waited out (15 s).
  Session s(store, settings);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(OrphanLocks::of_process().released() > released_before);
  REQUIRE(s.commit() == StoreResult::ok);
  CHECK(store.read(kId + ".lock", value) == StoreResult::not_found);
}

TEST_CASE("session lock: a lock held past half its expiry is released only if still ours",
          "[session][lock]") {
  auto now = std::chrono::steady_clock::now();
  MemoryStore store([&] { return now; });
  Settings settings;
  settings.lock_expire = 2s;
  Session s(store, settings);
  REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
  // Its key expires and another request (PHP) takes the lock.
  now += 3s;
  REQUIRE(store.write(kId + ".lock", "1", 15s) == StoreResult::ok);
  std::this_thread::sleep_for(1100ms);  // held past lock_expire / 2 on the real clock
  REQUIRE(s.commit() == StoreResult::ok);
  std::string value;
  REQUIRE(store.read(kId + ".lock", value) == StoreResult::ok);
  CHECK(value == "1");  // the other holder keeps it
}

TEST_CASE("session lock: waiters of one process queue in arrival order, one of them polls",
          "[session][lock]") {
  LateLockStore store;
  Settings settings;
  settings.lock_wait = 20s;
  settings.lock_waiters = -1;
  REQUIRE(store.write(kId, "n|i:0;", 0s) == StoreResult::ok);
  const std::uint64_t other = new_lock_token();  // another child holds it
  REQUIRE(store.try_lock(kId + ".lock", 60s, other) == StoreResult::ok);
  store.polls = 0;
  constexpr int kWaiters = 6;
  std::mutex mutex;
  std::vector<int> served;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      Session s(store, settings);
      if (s.start("PHPSESSID=" + kId) != StoreResult::ok) return;
      {
        std::lock_guard lock(mutex);
        served.push_back(i);
      }
      s.vars().set("n", PhpValue(*s.vars().find("n")->as_int() + 1));
      s.commit();
    });
    // The next one arrives once this one stands in line.
    if (i == 0)
      REQUIRE(eventually([&] { return store.polls.load() > 0; }));
    else
      REQUIRE(eventually([&] { return LockLine::waiting_total() == i; }));
  }
  std::this_thread::sleep_for(500ms);  // the first one's pause has reached 50 ms
  const int before = store.polls.load();
  std::this_thread::sleep_for(1000ms);
  const int polled = store.polls.load() - before;
  INFO("lock polls in 1 s with " << kWaiters << " waiters: " << polled);
  CHECK(polled <= 30);  // one poller, 50 ms apart; six would make ~120
  REQUIRE(store.unlock(kId + ".lock", other, true) == StoreResult::ok);
  for (auto& t : threads) t.join();
  CHECK(served == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(counter_of(store) == kWaiters);
}

TEST_CASE("session lock: past session.lock_waiters a request on a stuck lock waits 1 s",
          "[session][lock]") {
  MemoryStore store;
  Settings settings;
  settings.lock_wait = 20s;
  settings.lock_waiters = 2;
  const std::uint64_t other = new_lock_token();
  REQUIRE(store.try_lock(kId + ".lock", 60s, other) == StoreResult::ok);
  const std::string id2 = "abcdefghijklmnop0123456789";
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (const std::string& id : {kId, id2}) {
    if (id == id2) REQUIRE(store.try_lock(id2 + ".lock", 60s, other) == StoreResult::ok);
    threads.emplace_back([&, id] {
      Session s(store, settings);
      if (s.start("PHPSESSID=" + id) == StoreResult::ok) ++ok;
    });
  }
  REQUIRE(eventually([] { return WaiterSlot::waiting() == 2; }));
  {
    Session s(store, settings);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(s.start("PHPSESSID=" + kId) == StoreResult::busy);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited >= 950ms);
    CHECK(waited < 2500ms);  // not lock_wait (20 s)
  }
  // A session nobody holds is served as usual.
  {
    Session s(store, settings);
    CHECK(s.start("PHPSESSID=vutsrqponmlkjihgfedcba9876") == StoreResult::ok);
  }
  REQUIRE(store.unlock(kId + ".lock", other, true) == StoreResult::ok);
  REQUIRE(store.unlock(id2 + ".lock", other, true) == StoreResult::ok);
  for (auto& t : threads) t.join();
  CHECK(ok == 2);
  CHECK(WaiterSlot::waiting() == 0);
}

TEST_CASE("session lock: the ledger holds the lock's key and token while it is held",
          "[session][lock]") {
  MemoryStore store;
  Settings settings;
  RecordingLedger ledger;
  set_lock_ledger(&ledger);
  {
    Session s(store, settings);
    REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
    std::string value;
    REQUIRE(store.read(kId + ".lock", value) == StoreResult::ok);
    CHECK(ledger.held[0].first == kId + ".lock");
    CHECK(lock_value_owned_by(value, ledger.held[0].second));
    // What the master does for a dead child: release by the recorded token.
    CHECK(store.unlock(ledger.held[0].first, ledger.held[0].second, true) == StoreResult::ok);
    REQUIRE(s.commit() == StoreResult::ok);
    CHECK(ledger.held[0].second == 0);
  }
  set_lock_ledger(nullptr);
}

TEST_CASE("session lock: a hot session is served to every waiter past the bound too",
          "[session][lock]") {
  MemoryStore store;
  Settings settings;
  settings.lock_waiters = 1;  // the line moves in microseconds: nobody needs more
  REQUIRE(store.write(kId, "n|i:0;", 0s) == StoreResult::ok);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Session s(store, settings);
        if (s.start("PHPSESSID=" + kId) != StoreResult::ok) {
          ++failures;
          continue;
        }
        s.vars().set("n", PhpValue(*s.vars().find("n")->as_int() + 1));
        if (s.commit() != StoreResult::ok) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(counter_of(store) == 160);
}
