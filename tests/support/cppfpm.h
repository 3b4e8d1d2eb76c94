#pragma once
// build/cppfpm as the tests run it: a php-fpm style config written from a
// list of pool keys, `cppfpm -F -y FILE`, its log.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"

namespace cppfpm::test {

// Ordered `key = value` lines; values are written verbatim (quote them
// yourself where php-fpm would).
using ConfigKeys = std::vector<std::pair<std::string, std::string>>;

// A `[global]` section and one `[www]` pool section.
std::string fpm_config(const ConfigKeys& pool, const ConfigKeys& global = {});

// The pool keys the tests use by default: a small static pool on a
// memcached and a MariaDB (phpUser/phpPass) on loopback.
ConfigKeys default_pool(int listen_port, int memcached_port, int mariadb_port);

// Replaces `key` in `keys` (or appends it).
void set_key(ConfigKeys& keys, const std::string& key, const std::string& value);

class Cppfpm {
 public:
  // Writes `dir`/cppfpm.conf from `pool` (which must hold `listen =
  // 127.0.0.1:PORT`) and starts CPPFPM_BINARY -F -y on it, with the test
  // pages on (CPPFPM_TEST_PAGES=1); throws with the log when the port does
  // not open within 10 s.
  Cppfpm(const std::filesystem::path& dir, ConfigKeys pool, ConfigKeys global = {});

  int port() const { return port_; }
  std::string log() const { return process_->log(); }
  const std::filesystem::path& config_path() const { return config_; }
  Process& process() { return *process_; }

 private:
  std::filesystem::path config_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

struct CommandOutput {
  int exit_code = -1;  // 128+signal when killed, -1 on timeout
  std::string output;  // stdout and stderr together
};

// Runs CPPFPM_BINARY with `args` to completion.
CommandOutput run_cppfpm(const std::vector<std::string>& args, const std::filesystem::path& dir,
                         Millis timeout = 20s);

}  // namespace cppfpm::test
