// The one expiry rule (server/memcached/expiry.h) as a real memcached reads
// it, through the query cache's store: a negative lifetime is gone at once
// (it used to be sent as 0, which memcached keeps forever), over 30 days is
// an absolute time.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

#include "sql/memcached_cache_store.h"
#include "support/memcached.h"
#include "support/temp_dir.h"

using namespace cppfpm;
using namespace cppfpm::test;
using namespace std::chrono_literals;

TEST_CASE("memcached expiry: a negative lifetime is expired at once, never kept forever",
          "[memcached][query_cache]") {
  TempDir dir("cppfpm-memcached-");
  Memcached server(dir.path());
  sql::MemcachedCacheStore store({{"127.0.0.1", static_cast<std::uint16_t>(server.port()), false}});
  std::string value;

  CHECK(store.set("expired", "v", -5s) == sql::CacheResult::ok);
  CHECK(store.get("expired", value) == sql::CacheResult::not_found);
  CHECK(store.add("claimed", "v", -1s) == sql::CacheResult::ok);
  CHECK(store.get("claimed", value) == sql::CacheResult::not_found);

  CHECK(store.set("minute", "v", 60s) == sql::CacheResult::ok);
  CHECK(store.get("minute", value) == sql::CacheResult::ok);
  CHECK(value == "v");

  const std::time_t before = std::time(nullptr);
  CHECK(store.set("year", "v", std::chrono::seconds(365 * 86400)) == sql::CacheResult::ok);
  // metadump walks the LRU alongside memcached's own threads, which move
  // items between its lists: an item may be missed by one walk.
  std::optional<MemcachedItem> year;
  for (int walk = 0; walk < 20 && !year; ++walk) {
    for (const MemcachedItem& item : memcached_items(server.port()))
      if (item.key == "year") year = item;
  }
  REQUIRE(year);
  CHECK(year->exptime >= before + 365 * 86400 - 1);  // memcached counts whole seconds
  CHECK(year->exptime <= std::time(nullptr) + 365 * 86400 + 1);
  CHECK(store.get("year", value) == sql::CacheResult::ok);
}
