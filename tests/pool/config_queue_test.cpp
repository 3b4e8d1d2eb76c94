// pm.queue_timeout and pm.reject_when_full: defaults, values, errors, the
// validation warning and the -tt dump.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config_test_support.h"
#include "pool/config.h"
#include "server/config_dump.h"

using namespace std::chrono_literals;
using namespace cppfpm::pool;
using namespace cppfpm::pool::test;

namespace {

LoadResult load(const std::string& text) {
  return load_config_string(text, "pool.conf");
}

}  // namespace

TEST_CASE(
    "config: the queue's keys default to no time limit and no 503 when full (php-fpm's backlog)",
    "[config][queue]") {
  LoadResult loaded = load("[www]\nlisten = 127.0.0.1:9000\n");
  REQUIRE(loaded.ok());
  const PoolConfig& p = loaded.config->pools.front();
  CHECK(p.pm_queue_timeout == 0ms);
  CHECK_FALSE(p.pm_reject_when_full);
  CHECK(p.effective_queue_per_child() == p.threads_per_child);
}

TEST_CASE("config: pm.queue_timeout and pm.reject_when_full are read", "[config][queue]") {
  LoadResult loaded = load(
      "[www]\nlisten = 127.0.0.1:9000\npm.queue_timeout = 750ms\npm.reject_when_full = yes\n"
      "pm.queue_per_child = 3\n");
  REQUIRE(loaded.ok());
  const PoolConfig& p = loaded.config->pools.front();
  CHECK(p.pm_queue_timeout == 750ms);
  CHECK(p.pm_reject_when_full);
  CHECK(p.effective_queue_per_child() == 3);
  LoadResult off = load("[www]\npm.queue_timeout = 0\n");
  REQUIRE(off.ok());
  CHECK(off.config->pools.front().pm_queue_timeout == 0ms);
}

TEST_CASE("config: bad queue values are errors at their line", "[config][queue]") {
  LoadResult bad_time = load("[www]\npm.queue_timeout = soon\n");
  INFO(dump(bad_time));
  CHECK_FALSE(bad_time.ok());
  CHECK(has(bad_time.errors, "pool.conf", 2, "is not a duration"));
  LoadResult bad_flag = load("[www]\n\npm.reject_when_full = maybe\n");
  INFO(dump(bad_flag));
  CHECK_FALSE(bad_flag.ok());
  CHECK(has(bad_flag.errors, "pool.conf", 3, "pm.reject_when_full"));
}

TEST_CASE("config: a queue timeout under 100 ms is warned about", "[config][queue]") {
  LoadResult loaded = load("[www]\npm.queue_timeout = 20ms\n");
  INFO(dump(loaded));
  REQUIRE(loaded.ok());
  CHECK(has(loaded.warnings, "pool.conf", 2, "pm.queue_timeout = 20ms"));
  LoadResult fine = load("[www]\npm.queue_timeout = 2s\n");
  for (const auto& w : fine.warnings) CHECK(w.str().find("pm.queue_timeout") == std::string::npos);
}

TEST_CASE("config dump: the queue's keys", "[config][queue]") {
  LoadResult loaded = load("[www]\npm.threads_per_child = 4\npm.queue_timeout = 3s\n");
  REQUIRE(loaded.ok());
  auto lines = cppfpm::server::dump_config(*loaded.config);
  auto has_line = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  CHECK(has_line("\tpm.queue_per_child = 4"));
  CHECK(has_line("\tpm.queue_timeout = 3000ms"));
  CHECK(has_line("\tpm.reject_when_full = no"));
}
