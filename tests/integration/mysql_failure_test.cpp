// testMySQL answers the failed page, within a bounded time, whenever MariaDB
// refuses the login or cannot be reached (sql.connect_timeout = 2s).
#include <catch2/catch.hpp>

#include "support/fcgi_client.h"
#include "support/mariadb.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

constexpr Millis bound = 6s;  // connect_timeout 2 s, plus room for a retry and a busy CI box

void expect_failed_page(Stack& stack) {
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second goes through a warm pool
    Stopwatch watch;
    auto r = fcgi_get(stack.fpm_port(), "/testMySQL.php", {}, 20s);
    auto took = watch.elapsed();
    INFO("attempt " << attempt << " took " << took.count() << " ms; stdout: " << r.stdout_data
                    << "\nlog:\n"
                    << stack.fpm_log());
    REQUIRE(r.ended);
    CHECK(r.status == 200);
    CHECK(r.body == "<h1>connect MySQL failed</h1>");
    CHECK(took < bound);
  }
  // The other pages do not suffer from a dead database.
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php");
  CHECK(parse_set_session(r.body));
}

}  // namespace

TEST_CASE("testMySQL: a wrong password shows the failed page", "[mysql]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "sql.dsn",
            "\"" + mariadb_dsn(shared_mariadb().port, "phpUser", "wrongPass") + "\"");
  }});
  expect_failed_page(stack);
}

TEST_CASE("testMySQL: an unknown user shows the failed page", "[mysql]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "sql.dsn", "\"" + mariadb_dsn(shared_mariadb().port, "nobody", "phpPass") + "\"");
  }});
  expect_failed_page(stack);
}

TEST_CASE("testMySQL: a port nothing listens on shows the failed page", "[mysql]") {
  int closed_port = free_loopback_port();
  Stack stack({[&](ConfigKeys& pool) {
    set_key(pool, "sql.dsn", "\"" + mariadb_dsn(closed_port) + "\"");
  }});
  expect_failed_page(stack);
}

TEST_CASE("testMySQL: a server that never answers fails within sql.connect_timeout", "[mysql]") {
  auto silent = silent_listener();
  Stack stack({[&](ConfigKeys& pool) {
    set_key(pool, "sql.dsn", "\"" + mariadb_dsn(silent.port) + "\"");
  }});
  expect_failed_page(stack);
}

TEST_CASE("testMySQL: recovers when MariaDB comes up, and after it restarts", "[mysql]") {
  // PHP connects per request, so the page follows the server's state at
  // once; cppfpm's per-thread connections must not cache a failure or keep
  // a dead connection.
  TempDir db_dir("cppfpm-mariadb-");
  int db_port = free_loopback_port();
  Stack stack(
      {[&](ConfigKeys& pool) { set_key(pool, "sql.dsn", "\"" + mariadb_dsn(db_port) + "\""); }});
  auto page = [&] { return fcgi_get(stack.fpm_port(), "/testMySQL.php", {}, 20s).body; };
  for (int i = 0; i < 4; ++i) CHECK(page() == "<h1>connect MySQL failed</h1>");
  {
    MariaDb db(db_dir / "first", db_port);
    for (int i = 0; i < 12; ++i) CHECK(page() == "<h1>connect success</h1>");
  }
  MariaDb db(db_dir / "second", db_port);
  for (int i = 0; i < 12; ++i) {
    INFO("request " << i << " after the restart; log:\n" << stack.fpm_log());
    CHECK(page() == "<h1>connect success</h1>");
  }
}
