#pragma once
// Stock nginx in front of cppfpm with the config deploy/lemmp ships
// (deploy/nginx/): the seed article's `location ~ \.php$ { root /phpPages;
// fastcgi_pass phpServers; ... }` and a keepalive upstream.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace cppfpm::test {

// deploy/nginx/nginx.conf.in filled in: every path under `dir`, every port
// of `fpm_ports` a server of the phpServers upstream.
std::string nginx_config(const std::filesystem::path& dir, int listen_port,
                         const std::vector<int>& fpm_ports);

class Nginx {
 public:
  // Writes `dir`/nginx/nginx.conf and starts nginx in the foreground on a
  // free port (or `port`); throws when it does not come up.
  Nginx(const std::filesystem::path& dir, int fpm_port, int port = 0);
  Nginx(const std::filesystem::path& dir, const std::vector<int>& fpm_ports, int port = 0);

  int port() const { return port_; }
  std::string error_log() const;
  Process& process() { return *process_; }

 private:
  std::filesystem::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace cppfpm::test
