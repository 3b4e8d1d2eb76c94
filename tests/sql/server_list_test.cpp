// sql.servers: parsing, connect strings per server, and which server a new
// connection goes to as servers fail and come back (a fake clock).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "sql/server_list.h"
#include "sql/soci_database.h"

using namespace cppfpm::sql;
using namespace std::chrono_literals;
using Order = std::vector<std::size_t>;

TEST_CASE("sql.servers: host[:port] items, the dsn's port by default") {
  CHECK(parse_servers("127.0.100.9:3306, 127.0.100.19 ,[::1]:3307", 3310) ==
        std::vector<ServerAddress>{{"127.0.100.9", 3306}, {"127.0.100.19", 3310}, {"::1", 3307}});
  CHECK(parse_servers("db") == std::vector<ServerAddress>{{"db", 3306}});
  CHECK_THROWS_AS(parse_servers("a:3306,,b"), std::invalid_argument);
  CHECK_THROWS_AS(parse_servers("a:0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_servers("a:99999"), std::invalid_argument);
  CHECK_THROWS_AS(parse_servers("a:x"), std::invalid_argument);
  CHECK_THROWS_AS(parse_servers("[::1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_servers("a b:1"), std::invalid_argument);
}

TEST_CASE("sql.servers: each server's connect string keeps the dsn's user, password, timeouts") {
  std::string base = "host=127.0.0.1 port=3306 user=u password=p connect_timeout=2";
  CHECK(connect_string_for(base, {"127.0.100.19", 3307}) ==
        "host=127.0.100.19 port=3307 user=u password=p connect_timeout=2");
  CHECK(connect_string_for("user=u", {"h", 1}) == "host=h port=1 user=u");
  CHECK(connect_string_port(base) == 3306);
  CHECK(connect_string_port("host=h port=3399 user=u") == 3399);
  CHECK(connect_string_port("host=h") == 3306);

  DatabaseOptions o;
  o.dsn = "mysql://host=127.0.0.1 port=3306 user=u password=s3cret";
  o.servers = {{"a", 1}, {"b", 2}};
  PoolOptions p = pool_options(o);
  REQUIRE(p.server_connect_strings.size() == 2);
  CHECK(p.server_connect_strings[1].rfind("host=b port=2 user=u password=s3cret", 0) == 0);
  CHECK(p.server_names == std::vector<std::string>{"a:1", "b:2"});
  CHECK(p.dsn_for_logs.find("s3cret") == std::string::npos);
  CHECK(p.dsn_for_logs.find("a:1, b:2") != std::string::npos);
}

TEST_CASE("server chooser: the first live server in list order, a failed one skipped, then back") {
  ServerChooser c(3, 1000ms, 8000ms);
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK(c.order(t0) == Order{0, 1, 2});
  CHECK(c.preferred(t0) == 0);

  c.failed(0, t0);  // node 0 killed
  CHECK(c.preferred(t0) == 1);
  CHECK(c.order(t0) == Order{1, 2, 0});  // still tried, last
  CHECK(c.preferred(t0 + 999ms) == 1);
  // Its back-off over, node 0 is tried first again...
  CHECK(c.preferred(t0 + 1000ms) == 0);
  // ... still dead: the next back-off is twice as long.
  c.failed(0, t0 + 1000ms);
  CHECK(c.preferred(t0 + 2999ms) == 1);
  CHECK(c.preferred(t0 + 3000ms) == 0);
  // It answers: it is first again, and its back-off starts over.
  c.succeeded(0);
  CHECK(c.preferred(t0 + 3000ms) == 0);
  c.failed(0, t0 + 4000ms);
  CHECK(c.preferred(t0 + 4999ms) == 1);
  CHECK(c.preferred(t0 + 5000ms) == 0);
}

TEST_CASE("server chooser: the back-off stops doubling at its maximum") {
  ServerChooser c(2, 1000ms, 4000ms);
  auto t = std::chrono::steady_clock::time_point{} + 10s;
  for (int i = 0; i < 10; ++i) c.failed(0, t);
  CHECK(c.backing_off(0, t + 3999ms));
  CHECK_FALSE(c.backing_off(0, t + 4000ms));
}

TEST_CASE("server chooser: all failing, every server is still tried, soonest retry first") {
  ServerChooser c(3, 1000ms, 30000ms);
  auto t = std::chrono::steady_clock::time_point{} + 10s;
  c.failed(1, t);
  c.failed(0, t + 10ms);
  c.failed(2, t + 20ms);
  CHECK(c.order(t + 30ms) == Order{1, 0, 2});
  // A lone server (a plain sql.dsn) is always tried.
  ServerChooser one(1, 1000ms, 30000ms);
  one.failed(0, t);
  CHECK(one.order(t) == Order{0});
}

TEST_CASE("server chooser: a non-primary node counts as failed like a dead one") {
  // The pool calls failed() for wsrep_ready = OFF exactly as for a refused
  // connect; a second failure of node 1 while node 0 is down leaves node 2.
  ServerChooser c(3, 1000ms, 30000ms);
  auto t = std::chrono::steady_clock::time_point{} + 10s;
  c.failed(0, t);
  c.failed(1, t);
  CHECK(c.preferred(t) == 2);
  c.succeeded(1);
  CHECK(c.preferred(t + 1ms) == 1);
}
