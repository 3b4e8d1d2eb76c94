// /queryCache.php on real memcached and MariaDB (the demo table of
// deploy/sql/): MISS then HIT, expiry, tag invalidation, memcached killed
// and restarted, hostile ids.
#include <catch2/catch.hpp>

#include <thread>

#include "integration/query_cache_helpers.h"
#include "support/stack.h"

using namespace cppfpm::test;
using namespace cppfpm::test::query_cache;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("queryCache: MISS then HIT, on every child", "[query_cache]") {
  Stack stack;
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  auto first = get_item(stack.fpm_port(), "id=3");
  INFO(first.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(first.ended);
  CHECK(first.status == 200);
  CHECK(x_cache(first) == "MISS");
  CHECK(first.body.find("<td>MariaDB hoodie</td>") != std::string::npos);
  CHECK(first.body.find("<td>42.00</td>") != std::string::npos);
  for (int i = 0; i < 8; ++i) {  // two children, four threads each: all share memcached
    auto again = get_item(stack.fpm_port(), "id=3");
    CHECK(x_cache(again) == "HIT");
    CHECK(again.body == first.body);
  }
  auto unicode = get_item(stack.fpm_port(), "id=6");
  CHECK(unicode.body.find("<td>缓存 notebook</td>") != std::string::npos);
  auto escaped = get_item(stack.fpm_port(), "id=5");
  CHECK(escaped.body.find("<td>LEMMP poster &lt;A2&gt; &amp; frame</td>") != std::string::npos);
  CHECK(memcached_get(stack.memcached.port(), kItemsTagKey).has_value());
}

TEST_CASE("queryCache: a missing row is a 404, and a cached one", "[query_cache]") {
  Stack stack;
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  auto r = get_item(stack.fpm_port(), "id=424242");
  CHECK(r.status == 404);
  CHECK(x_cache(r) == "MISS");
  CHECK(r.body.find("No item with id 424242") != std::string::npos);
  CHECK(x_cache(get_item(stack.fpm_port(), "id=424242")) == "HIT");
}

TEST_CASE("queryCache: an entry expires after cache.ttl", "[query_cache]") {
  Stack stack({[](ConfigKeys& pool) { set_key(pool, "cache.ttl", "2s"); }});
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=4")) == "MISS");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=4")) == "HIT");
  std::this_thread::sleep_for(3500ms);
  CHECK(x_cache(get_item(stack.fpm_port(), "id=4")) == "MISS");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=4")) == "HIT");
}

TEST_CASE("queryCache: bumping the items tag makes the page read the new row", "[query_cache]") {
  Stack stack;
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=2")) == "MISS");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=8")) == "MISS");
  mariadb_execute(stack.mariadb, "UPDATE cppfpm_demo.items SET name = 'renamed mug' WHERE id = 2",
                  stack.dir / "sql.log");
  auto stale = get_item(stack.fpm_port(), "id=2");
  CHECK(x_cache(stale) == "HIT");  // the cache does not know yet
  CHECK(stale.body.find("memcached mug") != std::string::npos);
  // What invalidate("items") does on any backend: a new generation.
  auto generation = memcached_get(stack.memcached.port(), kItemsTagKey);
  REQUIRE(generation);
  REQUIRE(memcached_set(stack.memcached.port(), kItemsTagKey,
                        std::to_string(std::stoull(*generation) + 1)));
  auto fresh = get_item(stack.fpm_port(), "id=2");
  CHECK(x_cache(fresh) == "MISS");
  CHECK(fresh.body.find("renamed mug") != std::string::npos);
  CHECK(x_cache(get_item(stack.fpm_port(), "id=2")) == "HIT");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=8")) == "MISS");  // every query of the tag
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");  // the seed rows back for the others
}

TEST_CASE("queryCache: memcached killed is BYPASS, restarted is HIT again", "[query_cache]") {
  Stack stack;
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=1")) == "MISS");
  CHECK(x_cache(get_item(stack.fpm_port(), "id=1")) == "HIT");
  stack.memcached.kill();
  for (int i = 0; i < 10; ++i) {
    Stopwatch watch;
    auto r = get_item(stack.fpm_port(), "id=1");
    INFO("request " << i << "; log:\n" << stack.fpm_log());
    CHECK(r.status == 200);
    CHECK(x_cache(r) == "BYPASS");
    CHECK(r.body.find("nginx t-shirt") != std::string::npos);
    CHECK(watch.elapsed() < 3s);
  }
  // One line per outage and child, not one per request.
  auto log = stack.fpm_log();
  CHECK(count(log, "memcached unreachable") >= 1);
  CHECK(count(log, "memcached unreachable") <= 2);
  stack.memcached.restart();
  Stopwatch watch;
  std::string status;
  while (watch.elapsed() < 15s && status != "HIT") {
    status = x_cache(get_item(stack.fpm_port(), "id=1"));
    if (status != "HIT") std::this_thread::sleep_for(200ms);
  }
  INFO("log:\n" << stack.fpm_log());
  CHECK(status == "HIT");
  CHECK(count(stack.fpm_log(), "memcached reachable again") >= 1);
}

TEST_CASE("queryCache: hostile ids are clear 400s, and the table is untouched", "[query_cache]") {
  Stack stack;
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  for (const std::string& query :
       std::vector<std::string>{"",
                                "id=",
                                "id=-1",
                                "id=0",
                                "id=abc",
                                "id=1%20OR%201=1",
                                "id=1'%20OR%20'1'='1",
                                "id=1;DROP%20TABLE%20cppfpm_demo.items",
                                "id=1%27%3B%20DELETE%20FROM%20cppfpm_demo.items%3B--",
                                "id=4294967296",
                                "id=184467440737095516160",
                                "id=%00",
                                "id=1%0d%0aset%20evil%200%200%201",
                                "id=1e3",
                                "id=0x1",
                                "id=%2B1",
                                "id=1.0",
                                std::string("id=") + std::string(5000, '9'),
                                "id=%ff%fe",
                                "id[]=1"}) {
    INFO("QUERY_STRING " << query << "\nlog:\n" << stack.fpm_log());
    auto r = get_item(stack.fpm_port(), query);
    REQUIRE(r.ended);
    CHECK(r.status == 400);
    CHECK(r.body.find("id must be a whole number from 1 to 4294967295") != std::string::npos);
  }
  CHECK(sql_value(stack.mariadb, "SELECT COUNT(*) FROM cppfpm_demo.items", stack.dir.path()) ==
        "10");
  CHECK(get_item(stack.fpm_port(), "id=10").status == 200);
}
