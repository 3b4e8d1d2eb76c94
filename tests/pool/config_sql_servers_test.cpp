// sql.servers in a pool section: host[:port] items, checked at load time
// (cppfpm -t), stored as written for the child's sql layer to parse.
#include <catch2/catch.hpp>

#include "config_test_support.h"
#include "pool/config.h"

using namespace cppfpm::pool;
using namespace cppfpm::pool::test;

TEST_CASE("config: sql.servers takes host[:port] items") {
  LoadResult result = load_config_string(
      "[www]\nsql.servers = 127.0.100.9:3306, 127.0.100.19 ,[::1]:3307\n", "pool.conf");
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(result.config->pools[0].sql_servers == "127.0.100.9:3306, 127.0.100.19 ,[::1]:3307");
}

TEST_CASE("config: a bad sql.servers item is an error at its line") {
  for (std::string bad : {"a:3306,,b", "a:0", "a:70000", "a:x", "[::1", "a b:1", ":3306"}) {
    LoadResult result = load_config_string("[www]\nsql.servers = \"" + bad + "\"\n", "pool.conf");
    INFO(bad << "\n" << dump(result));
    CHECK_FALSE(result.ok());
    CHECK(has(result.errors, "pool.conf", 2, "sql.servers"));
  }
}
