#include <catch2/catch.hpp>

#include "server/config_paths.h"

using namespace cppfpm;

TEST_CASE("config paths: a pool's prefix resolves its relative paths and is itself under -p") {
  pool::Config config;
  pool::PoolConfig www;
  www.name = "www";
  www.prefix = "/srv/www";
  www.listen = "run/www.sock";
  www.access_log = "log/access.log";
  www.slowlog = "/var/log/slow.log";
  pool::PoolConfig api = www;
  api.name = "api";
  api.prefix = "api";  // relative: under the global prefix
  pool::PoolConfig plain = www;
  plain.name = "plain";
  plain.prefix = "";
  plain.listen = "127.0.0.1:9000";
  config.pools = {www, api, plain};
  server::resolve_paths(config, "/opt/fpm", "");
  CHECK(config.pools[0].listen == "/srv/www/run/www.sock");
  CHECK(config.pools[0].access_log == "/srv/www/log/access.log");
  CHECK(config.pools[0].slowlog == "/var/log/slow.log");
  CHECK(config.pools[1].prefix == "/opt/fpm/api");
  CHECK(config.pools[1].listen == "/opt/fpm/api/run/www.sock");
  CHECK(config.pools[2].access_log == "/opt/fpm/log/access.log");
  CHECK(config.pools[2].listen == "127.0.0.1:9000");
  CHECK(config.global.error_log == "/opt/fpm/log/cppfpm.log");
}
