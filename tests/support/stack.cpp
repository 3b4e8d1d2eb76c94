#include "support/stack.h"

namespace cppfpm::test {

Stack::Stack(StackOptions options)
    : dir("cppfpm-test-"),
      memcached(dir.path()),
      mariadb(shared_mariadb()),
      pool(default_pool(free_loopback_port(), memcached.port(), mariadb.port)) {
  if (options.pool) options.pool(pool);
  fpm = std::make_unique<Cppfpm>(dir.path(), pool);
  if (options.nginx) nginx = std::make_unique<Nginx>(dir.path(), fpm->port());
}

}  // namespace cppfpm::test
