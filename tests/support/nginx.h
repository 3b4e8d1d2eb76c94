#pragma once
// Stock nginx in front of cppfpm, configured as the seed article does:
// `location ~ \.php$ { root /phpPages; fastcgi_pass phpServers; ... }`
// with a keepalive upstream.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace cppfpm::test {

// The nginx.conf the tests (and deploy/nginx) use; all paths under `dir`.
// Every port in `fpm_ports` is a server of the phpServers upstream.
std::string nginx_config(const std::filesystem::path& dir, int listen_port,
                         const std::vector<int>& fpm_ports);

class Nginx {
 public:
  // Writes `dir`/nginx.conf and starts `nginx -p dir -c nginx.conf` in the
  // foreground on a free port (or `port`); throws when it does not come up.
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
