// Session locking as pecl-memcache does it, on the in-process store: the
// `<key>.lock` protocol, serialized read-modify-write, bounded waits, and
// a dead holder's lock expiring.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "session/memory_store.h"
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

TEST_CASE("session lock: incr/add protocol of pecl-memcache", "[session][lock]") {
  MemoryStore store;
  const std::string key = kId + ".lock";
  CHECK(store.try_lock(key, 15s) == StoreResult::ok);    // add "1"
  CHECK(store.try_lock(key, 15s) == StoreResult::busy);  // incr -> 2
  CHECK(store.try_lock(key, 15s) == StoreResult::busy);  // incr -> 3
  REQUIRE(store.unlock(key, 15s) == StoreResult::ok);    // delete
  std::string value;
  CHECK(store.read(key, value) == StoreResult::not_found);
  CHECK(store.try_lock(key, 15s) == StoreResult::ok);  // add "1"
  // PHP's release (PS_WRITE_FUNC): set to the integer 0; incr -> 1 takes it.
  REQUIRE(store.write(key, "0", 15s) == StoreResult::ok);
  CHECK(store.try_lock(key, 15s) == StoreResult::ok);
  CHECK(store.try_lock("bad key.lock", 15s) == StoreResult::unavailable);
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
    CHECK(value == "1");
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
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Session s(store, settings);
        REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
        std::int64_t n = *s.vars().find("n")->as_int();
        std::this_thread::sleep_for(100us);
        s.vars().set("n", PhpValue(n + 1));
        s.commit();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(counter_of(store) < 400);  // why session.lock exists
}

TEST_CASE("session lock: the wait is bounded by lock_wait and lock_retries", "[session][lock]") {
  MemoryStore store;
  Settings settings;
  REQUIRE(store.try_lock(kId + ".lock", 60s) == StoreResult::ok);  // held by someone else
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
  REQUIRE(store.try_lock(kId + ".lock", 1s) == StoreResult::ok);  // its holder "dies"
  Session s(store, settings);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(s.start("PHPSESSID=" + kId) == StoreResult::ok);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 900ms);
  CHECK(waited < 3s);
}
