// WorkerPool's hand-off: every submitted connection is served exactly once,
// whether the workers are busy (the queue holds it) or asleep (one is
// woken), in bursts and in a steady stream, and stop() ends every thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "server/fastcgi/worker_pool.h"

namespace cppfpm::server {
namespace {

bool wait_for(const std::atomic<long>& value, long wanted, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (value.load() < wanted && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return value.load() >= wanted;
}

}  // namespace

TEST_CASE("worker pool: every connection is served once, asleep or busy", "[fastcgi]") {
  constexpr int kConnections = 64;
  auto connections = std::make_unique<Connection[]>(kConnections);
  std::vector<std::atomic<long>> served(kConnections);
  std::atomic<long> total{0};
  std::atomic<int> busy_us{0};
  std::atomic<int> bad_index{
      0};  // counted here, checked by the test thread (Catch2 is not thread-safe)
  WorkerPool pool(4, [&](Connection* c, int index) {
    if (index < 0 || index >= 4) bad_index.fetch_add(1);
    if (int us = busy_us.load(); us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
    served[static_cast<std::size_t>(c - connections.get())].fetch_add(1);
    total.fetch_add(1);
  });
  long submitted = 0;
  auto submit_all = [&] {
    for (int i = 0; i < kConnections; ++i) pool.submit(&connections[i]);
    submitted += kConnections;
  };

  // Bursts after idle pauses: the workers are asleep each time.
  for (int burst = 0; burst < 50; ++burst) {
    submit_all();
    REQUIRE(wait_for(total, submitted, std::chrono::seconds(30)));
  }
  // One at a time, each after the last was served: one sleeper woken each time.
  for (int i = 0; i < 32 * kConnections; ++i) {
    pool.submit(&connections[i % kConnections]);
    ++submitted;
    REQUIRE(wait_for(total, submitted, std::chrono::seconds(30)));
  }
  // More than the threads, with slow requests: the queue holds the rest.
  busy_us = 200;
  for (int round = 0; round < 10; ++round) submit_all();
  REQUIRE(wait_for(total, submitted, std::chrono::seconds(60)));
  busy_us = 0;
  // (Only the event loop's thread submits, so the test does not submit from
  // several threads: TSan reports oneTBB's queue pages across producers.)

  pool.stop();  // returns once every thread has ended
  CHECK(bad_index.load() == 0);
  CHECK(total.load() == submitted);
  for (int i = 0; i < kConnections; ++i)
    CHECK(served[static_cast<std::size_t>(i)].load() == submitted / kConnections);
}

}  // namespace cppfpm::server
