// sql.servers with two real MariaDB servers: connections go to the first,
// move to the second when the first is killed (SIGKILL), and come back
// when it returns; the pages keep answering through it all.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "query_cache_helpers.h"
#include "sql/soci_database.h"
#include "support/fcgi_client.h"
#include "support/mariadb.h"
#include "support/net.h"
#include "support/stack.h"
#include "support/temp_dir.h"

using namespace cppfpm;
using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

std::string servers_key(int first, int second) {
  return "127.0.0.1:" + std::to_string(first) + ", 127.0.0.1:" + std::to_string(second);
}

int served_by(sql::SociDatabase& db) {
  auto r = db.query("SELECT @@port", {});
  REQUIRE(r.rows.size() == 1);
  return std::stoi(*r.rows[0][0]);
}

// Asks until `want` answers, or `bound` passes; the port that answered last.
int wait_for_port(sql::SociDatabase& db, int want, std::chrono::seconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  int got = 0;
  while (std::chrono::steady_clock::now() < until) {
    got = served_by(db);
    if (got == want) break;
    std::this_thread::sleep_for(100ms);
  }
  return got;
}

}  // namespace

TEST_CASE("sql.servers: the first live server, the next when it dies, back when it returns",
          "[sql][servers]") {
  TempDir dir("cppfpm-sql-servers-");
  int port_a = free_loopback_port();
  auto a = std::make_unique<MariaDb>(dir.path() / "a", port_a);
  MariaDb b(dir.path() / "b");
  int port_b = b.endpoint().port;

  sql::DatabaseOptions options;
  options.dsn = mariadb_dsn(1);  // its port is replaced by each server's
  options.servers = sql::parse_servers(servers_key(port_a, port_b));
  options.connect_timeout = 2s;
  options.pool_size = 3;
  sql::SociDatabase db(options);

  for (int i = 0; i < 5; ++i) CHECK(served_by(db) == port_a);

  // SIGKILL: connections in the pool break; the next query moves to b.
  ::kill(a->endpoint().pid, SIGKILL);
  for (int i = 0; i < 10; ++i) {
    auto started = std::chrono::steady_clock::now();
    CHECK(served_by(db) == port_b);
    CHECK(std::chrono::steady_clock::now() - started < options.connect_timeout + 1s);
  }
  CHECK(db.ping());
  a.reset();

  // a returns on its port (a fresh datadir): after its back-off, new
  // connections go to it again, pooled ones move over as they are lent.
  MariaDb a_again(dir.path() / "a2", port_a);
  CHECK(wait_for_port(db, port_a, 40s) == port_a);
  for (int i = 0; i < 6; ++i) CHECK(served_by(db) == port_a);
}

TEST_CASE("sql.servers: a plain MariaDB (no Galera) counts as ready, a lone server is a plain dsn",
          "[sql][servers]") {
  const MariaDbEndpoint& server = shared_mariadb();
  sql::DatabaseOptions options;
  options.dsn = mariadb_dsn(server.port);
  options.servers = sql::parse_servers("127.0.0.1:" + std::to_string(server.port));
  sql::SociDatabase db(options);
  CHECK(db.ping());
  CHECK(served_by(db) == server.port);
}

TEST_CASE("sql.servers: every server down is Unavailable within the connect timeouts",
          "[sql][servers]") {
  sql::DatabaseOptions options;
  options.dsn = mariadb_dsn(1);
  options.servers = sql::parse_servers("127.0.0.1:" + std::to_string(free_loopback_port()) +
                                       ", 127.0.0.1:" + std::to_string(free_loopback_port()));
  options.connect_timeout = 1s;
  sql::SociDatabase db(options);
  auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(db.query("SELECT 1", {}), sql::Unavailable);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(db.pool().idle() == db.pool().size());
}

TEST_CASE("sql.servers: testMySQL keeps answering while the first server is killed",
          "[sql][servers]") {
  TempDir dir("cppfpm-sql-servers-page-");
  auto a = std::make_unique<MariaDb>(dir.path() / "a");
  MariaDb b(dir.path() / "b");
  std::string servers = servers_key(a->endpoint().port, b.endpoint().port);
  Stack stack({[&](ConfigKeys& pool) { set_key(pool, "sql.servers", servers); }});
  auto page = [&] { return fcgi_get(stack.fpm_port(), "/testMySQL.php", {}, 20s).body; };
  for (int i = 0; i < 6; ++i) CHECK(page() == "<h1>connect success</h1>");
  ::kill(a->endpoint().pid, SIGKILL);
  for (int i = 0; i < 20; ++i) {
    INFO("request " << i << " after the kill; log:\n" << stack.fpm_log());
    CHECK(page() == "<h1>connect success</h1>");
  }
  auto r = query_cache::get_item(stack.fpm_port(), "id=3");
  CHECK(r.status == 200);
  CHECK(r.body.find("MariaDB hoodie") != std::string::npos);
}
