// The one expiry rule of the session store and the query cache.
#include "server/memcached/expiry.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>

using cppfpm::memcached::kMaxRelativeExptime;
using cppfpm::memcached::memcached_exptime;
using cppfpm::memcached::memcached_exptime_from_now;
using namespace std::chrono_literals;

TEST_CASE("memcached expiry: up to 30 days is relative, 0 never expires", "[memcached]") {
  const std::int64_t now = 1'700'000'000;
  CHECK(memcached_exptime(0s, now) == 0);
  CHECK(memcached_exptime(1s, now) == 1);
  CHECK(memcached_exptime(1440s, now) == 1440);
  CHECK(kMaxRelativeExptime == 30 * 86400);
}

TEST_CASE("memcached expiry: the 30-day boundary", "[memcached]") {
  const std::int64_t now = 1'700'000'000;
  CHECK(memcached_exptime(std::chrono::seconds(30 * 86400 - 1), now) == 30 * 86400 - 1);
  CHECK(memcached_exptime(std::chrono::seconds(30 * 86400), now) == 30 * 86400);
  CHECK(memcached_exptime(std::chrono::seconds(30 * 86400 + 1), now) == now + 30 * 86400 + 1);
  CHECK(memcached_exptime(std::chrono::seconds(365 * 86400), now) == now + 365 * 86400);
}

TEST_CASE("memcached expiry: a negative lifetime is already expired, never forever",
          "[memcached]") {
  const std::int64_t now = 1'700'000'000;
  for (std::int64_t seconds : {-1LL, -5LL, -(30LL * 86400) - 1, -(1LL << 40)}) {
    CAPTURE(seconds);
    CHECK(memcached_exptime(std::chrono::seconds(seconds), now) == -1);
  }
}

TEST_CASE("memcached expiry: from now uses the wall clock for long lifetimes", "[memcached]") {
  CHECK(memcached_exptime_from_now(60s) == 60);
  CHECK(memcached_exptime_from_now(-60s) == -1);
  const std::time_t before = std::time(nullptr);
  const std::time_t absolute = memcached_exptime_from_now(std::chrono::seconds(365 * 86400));
  const std::time_t after = std::time(nullptr);
  CHECK(absolute >= before + 365 * 86400);
  CHECK(absolute <= after + 365 * 86400);
}
