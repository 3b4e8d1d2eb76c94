// The SOCI side without a server: connect strings, password redaction, and
// a pool that gives every connection back when MariaDB cannot be reached.
#include <catch2/catch.hpp>

#include "sql/soci_database.h"

using namespace cppfpm::sql;
using namespace std::chrono_literals;

namespace {

DatabaseOptions unreachable(int pool_size) {
  DatabaseOptions o;
  o.dsn = "mysql://host=127.0.0.1 port=1 user=phpUser password=s3cret";  // port 1: refused
  o.connect_timeout = 1000ms;
  o.pool_size = pool_size;
  return o;
}

}  // namespace

TEST_CASE("soci database: the connect string carries the three timeouts in whole seconds") {
  DatabaseOptions o;
  o.dsn = "mysql://host=h port=3307 user=u password=p";
  o.connect_timeout = 1500ms;
  o.read_timeout = 7s;
  o.write_timeout = 200ms;
  CHECK(mysql_connect_string(o) ==
        "host=h port=3307 user=u password=p connect_timeout=2 read_timeout=7 write_timeout=1");
  o.dsn = "host=h read_timeout=30";
  CHECK(mysql_connect_string(o) == "host=h read_timeout=30 connect_timeout=2 write_timeout=1");
}

TEST_CASE("soci database: passwords never reach a log line") {
  CHECK(redact_password("host=h user=u password=s3cret port=1") ==
        "host=h user=u password=*** port=1");
  CHECK(redact_password("pass='a b c' db=x") == "pass=*** db=x");
  CHECK(redact_password("PWD = hunter2") == "PWD=***");
}

TEST_CASE(
    "soci database: MariaDB unreachable is Unavailable, without the password, and leases come "
    "back") {
  SociDatabase db(unreachable(2));
  CHECK_FALSE(db.ping());
  try {
    db.query("SELECT 1", {});
    FAIL("query should throw");
  } catch (const Unavailable& e) {
    CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
  }
  CHECK(db.pool().idle() == 2);
}

TEST_CASE("soci database: a slot goes back to the pool even when opening its connection throws") {
  PoolOptions o;
  o.connect_string = "host=127.0.0.1 port=1 connect_timeout=1";
  o.size = 3;
  ConnectionPool pool(o);
  for (int i = 0; i < 10; ++i) CHECK_THROWS_AS(pool.borrow(), Unavailable);
  CHECK(pool.idle() == 3);
}
