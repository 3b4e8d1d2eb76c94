#pragma once
// The services one test needs, started in order in one temp dir and torn
// down in reverse: memcached (own), MariaDB (shared), build/cppfpm, and
// nginx in front of it when asked.
#include <functional>
#include <memory>

#include "support/cppfpm.h"
#include "support/mariadb.h"
#include "support/memcached.h"
#include "support/nginx.h"
#include "support/temp_dir.h"

namespace cppfpm::test {

struct StackOptions {
  // Edits the pool keys before cppfpm starts (default_pool() otherwise).
  std::function<void(ConfigKeys&)> pool;
  bool nginx = false;
};

class Stack {
 public:
  explicit Stack(StackOptions options = {});

  TempDir dir;
  Memcached memcached;
  const MariaDbEndpoint& mariadb;
  ConfigKeys pool;
  std::unique_ptr<Cppfpm> fpm;
  std::unique_ptr<Nginx> nginx;

  int fpm_port() const { return fpm->port(); }
  int http_port() const { return nginx->port(); }
  // cppfpm's log, for INFO() on failure.
  std::string fpm_log() const { return fpm ? fpm->log() : "(cppfpm stopped)"; }
};

}  // namespace cppfpm::test
