// Self-checks of tests/support: the services the other tests rely on behave
// as those tests assume, so a failure elsewhere points at cppfpm.
#include <catch2/catch.hpp>

#include "support/http_client.h"
#include "support/mariadb.h"
#include "support/memcached.h"
#include "support/nginx.h"
#include "support/php.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;

namespace {

int login(const MariaDbEndpoint& db, const std::string& password, const TempDir& dir) {
  return run_command(
      {"mariadb", "--no-defaults", "--host=127.0.0.1", "--port=" + std::to_string(db.port),
       "--user=phpUser", "--password=" + password, "--connect-timeout=5", "--execute=SELECT 1"},
      dir / "client.log", 20s);
}

}  // namespace

TEST_CASE("harness: MariaDB lets phpUser in with phpPass only", "[harness]") {
  TempDir dir;
  const auto& db = shared_mariadb();
  CHECK(login(db, "phpPass", dir) == 0);
  CHECK(login(db, "wrongPass", dir) != 0);
  INFO(read_file(dir / "client.log"));
  CHECK(read_file(dir / "client.log").find("Access denied") != std::string::npos);
}

TEST_CASE("harness: MariaDB holds the demo schema of deploy/sql", "[harness]") {
  TempDir dir;
  const auto& db = shared_mariadb();
  auto log = dir / "query.log";
  int rc = run_command(
      {"mariadb", "--no-defaults", "--host=127.0.0.1", "--port=" + std::to_string(db.port),
       "--user=phpUser", "--password=phpPass", "--batch", "--skip-column-names",
       "--execute=SELECT COUNT(*) > 0 FROM cppfpm_demo.items"},
      log, 20s);
  INFO(read_file(log));
  CHECK(rc == 0);
  CHECK(read_file(log) == "1\n");
}

TEST_CASE("harness: memcached metadump lists every key with its expiry", "[harness]") {
  TempDir dir;
  Memcached mc(dir.path());
  CHECK(memcached_items(mc.port()).empty());
  REQUIRE(memcached_set(mc.port(), "plain", "value", 1440));
  REQUIRE(memcached_set(mc.port(), "forever", "x", 0));
  auto now = unix_now();
  auto items = memcached_items(mc.port());
  REQUIRE(items.size() == 2);
  for (const auto& item : items) {
    if (item.key == "plain") {
      CHECK(item.exptime >= now + 1438);
      CHECK(item.exptime <= now + 1441);
    } else {
      CHECK(item.key == "forever");
      CHECK(item.exptime == -1);
    }
  }
  CHECK(memcached_get(mc.port(), "plain") == std::optional<std::string>("value"));
  CHECK_FALSE(memcached_get(mc.port(), "absent"));

  mc.restart();
  CHECK(memcached_items(mc.port()).empty());
  mc.kill();
  CHECK_FALSE(port_accepts(mc.port()));
}

TEST_CASE("harness: nginx passes .php to the upstream and 502s when it is down", "[harness]") {
  TempDir dir;
  Nginx nginx(dir / "nginx", free_loopback_port());
  auto php = http_get(nginx.port(), "/setSession.php");
  CHECK(php.status == 502);
  auto other = http_get(nginx.port(), "/index.html");
  CHECK(other.status == 404);
}
