// /queryCache.php against a private MariaDB this suite may stop and count
// queries on: 50 concurrent misses run the query once; MariaDB killed
// leaves cached ids answering and uncached ones a clear 503, and the pool
// recovers after the restart without restarting cppfpm.
#include <catch2/catch.hpp>

#include <csignal>
#include <optional>
#include <thread>

#include "integration/query_cache_helpers.h"
#include "support/parallel.h"
#include "support/stack.h"

using namespace cppfpm::test;
using namespace cppfpm::test::query_cache;

namespace {

ConfigKeys::value_type dsn(int port) {
  return {"sql.dsn", "\"" + mariadb_dsn(port) + "\""};
}

// How often MariaDB was asked for item `id`, from its general log. The
// pattern is built with CONCAT so the counting query does not count itself.
int item_queries(const MariaDbEndpoint& db, int id, const std::filesystem::path& dir) {
  return std::stoi(sql_value(
      db,
      "SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Query' AND argument LIKE "
      "CONCAT('SELECT id, name', '%cppfpm_demo.items WHERE id = " +
          std::to_string(id) + "')",
      dir));
}

}  // namespace

TEST_CASE("queryCache: 50 concurrent misses on one id run the query once", "[query_cache]") {
  TempDir db_dir("cppfpm-mariadb-");
  MariaDb db(db_dir.path());
  load_demo_sql(db.endpoint(), db_dir / "sql.log");
  db.execute_sql("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1;");
  const int port = db.endpoint().port;
  Stack stack({[&](ConfigKeys& pool) {
    set_key(pool, dsn(port).first, dsn(port).second);
    set_key(pool, "pm.max_children", "4");
  }});
  // Warm every child's connections with another id, so the 50 meet at the cache.
  for (int i = 0; i < 16; ++i) get_item(stack.fpm_port(), "id=1");
  CHECK(item_queries(db.endpoint(), 9, db_dir.path()) == 0);

  std::vector<std::optional<FcgiResponse>> answers(50);
  run_together(50, [&](int i) { answers[i] = get_item(stack.fpm_port(), "id=9", 30s); });
  int hits = 0, misses = 0;
  for (auto& r : answers) {
    REQUIRE(r);
    INFO(r->stdout_data);
    CHECK(r->status == 200);
    CHECK(r->body.find("rack of loopback cables") != std::string::npos);
    hits += x_cache(*r) == "HIT";
    misses += x_cache(*r) == "MISS";
  }
  INFO("log:\n" << stack.fpm_log());
  CHECK(misses == 1);
  CHECK(hits == 49);
  CHECK(item_queries(db.endpoint(), 9, db_dir.path()) == 1);
}

TEST_CASE(
    "queryCache: MariaDB killed, cached ids HIT, others 503, and it recovers after the restart",
    "[query_cache]") {
  TempDir db_dir("cppfpm-mariadb-");
  const int port = free_loopback_port();
  auto db = std::make_unique<MariaDb>(db_dir / "first", port);
  load_demo_sql(db->endpoint(), db_dir / "sql.log");
  Stack stack({[&](ConfigKeys& pool) { set_key(pool, dsn(port).first, dsn(port).second); }});
  for (int id : {1, 2})
    CHECK(x_cache(get_item(stack.fpm_port(), "id=" + std::to_string(id))) == "MISS");

  ::kill(db->endpoint().pid, SIGKILL);
  db.reset();
  for (int i = 0; i < 6; ++i) {
    INFO("round " << i << "; log:\n" << stack.fpm_log());
    auto cached = get_item(stack.fpm_port(), "id=" + std::to_string(1 + i % 2));
    CHECK(cached.status == 200);
    CHECK(x_cache(cached) == "HIT");
    Stopwatch watch;
    auto uncached = get_item(stack.fpm_port(), "id=3");
    CHECK(uncached.status == 503);
    CHECK(uncached.body.find("database is unreachable") != std::string::npos);
    CHECK(watch.elapsed() < 5s);  // sql.connect_timeout 2s, with room
  }
  auto log = stack.fpm_log();
  CHECK(log.find("phpPass") == std::string::npos);

  db = std::make_unique<MariaDb>(db_dir / "second", port);
  load_demo_sql(db->endpoint(), db_dir / "sql.log");
  for (int i = 0; i < 12; ++i) {
    // Every pooled connection died with the old server; none of this may fail.
    INFO("request " << i << " after the restart; log:\n" << stack.fpm_log());
    auto r = get_item(stack.fpm_port(), "id=" + std::to_string(3 + i % 4));
    CHECK(r.status == 200);
  }
  auto hoodie = get_item(stack.fpm_port(), "id=3");
  CHECK(x_cache(hoodie) == "HIT");
  CHECK(hoodie.body.find("MariaDB hoodie") != std::string::npos);
}
