#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "session/memory_store.h"

using cppfpm::session::MemoryStore;
using cppfpm::session::StoreResult;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  MemoryStore::Clock function() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("memory_store: write, read, touch, remove", "[session]") {
  MemoryStore store;
  std::string out = "unchanged";
  CHECK(store.read("missing", out) == StoreResult::not_found);
  CHECK(out == "unchanged");
  CHECK(store.write("id1", "value", 60s) == StoreResult::ok);
  CHECK(store.read("id1", out) == StoreResult::ok);
  CHECK(out == "value");
  CHECK(store.write("id1", "", 60s) == StoreResult::ok);
  CHECK(store.read("id1", out) == StoreResult::ok);
  CHECK(out.empty());
  CHECK(store.touch("id1", 60s) == StoreResult::ok);
  CHECK(store.touch("missing", 60s) == StoreResult::not_found);
  CHECK(store.remove("id1") == StoreResult::ok);
  CHECK(store.remove("id1") == StoreResult::not_found);
  CHECK(store.read("id1", out) == StoreResult::not_found);
}

TEST_CASE("memory_store: entries expire and touch extends them", "[session]") {
  FakeClock clock;
  MemoryStore store(clock.function());
  std::string out;
  REQUIRE(store.write("a", "1", 10s) == StoreResult::ok);
  REQUIRE(store.write("forever", "2", 0s) == StoreResult::ok);
  clock.now += 9s;
  CHECK(store.read("a", out) == StoreResult::ok);
  CHECK(store.touch("a", 10s) == StoreResult::ok);
  clock.now += 9s;
  CHECK(store.read("a", out) == StoreResult::ok);
  clock.now += 1s;
  CHECK(store.read("a", out) == StoreResult::not_found);
  CHECK(store.touch("a", 10s) == StoreResult::not_found);
  clock.now += std::chrono::hours(24 * 365);
  CHECK(store.read("forever", out) == StoreResult::ok);
  CHECK(store.size() == 1);
  CHECK(store.write("gone", "x", -1s) == StoreResult::ok);
  CHECK(store.read("gone", out) == StoreResult::not_found);
}

TEST_CASE("memory_store: invalid keys are never stored", "[session]") {
  MemoryStore store;
  std::string out;
  for (const std::string& key : std::vector<std::string>{
           std::string(), std::string("a b"), std::string("a\r\nset x"), std::string("a\0b", 3),
           std::string(251, 'k'), std::string("\x7f")}) {
    CAPTURE(key);
    CHECK(store.write(key, "v", 60s) == StoreResult::unavailable);
    CHECK(store.read(key, out) == StoreResult::not_found);
    CHECK(store.touch(key, 60s) == StoreResult::not_found);
    CHECK(store.remove(key) == StoreResult::not_found);
  }
  CHECK(store.size() == 0);
  CHECK(store.write(std::string(250, 'k'), "v", 60s) == StoreResult::ok);
}

TEST_CASE("memory_store: expired entries are swept as writes go on", "[session]") {
  FakeClock clock;
  MemoryStore store(clock.function());
  for (int i = 0; i < 1000; ++i) store.write("old" + std::to_string(i), "v", 1s);
  clock.now += 2s;
  for (int i = 0; i < 2000; ++i) store.write("new" + std::to_string(i), "v", 60s);
  CHECK(store.size() == 2000);
}

TEST_CASE("memory_store: safe under concurrent use", "[session]") {
  MemoryStore store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&store, t] {
      std::string out;
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string((t * 7 + i) % 50);
        store.write(key, std::to_string(i), 60s);
        store.read(key, out);
        store.touch(key, 60s);
        if (i % 10 == 0) store.remove(key);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(store.size() <= 50);
}
