#include "support/nginx.h"

#include <unistd.h>

#include <stdexcept>

#include "support/temp_dir.h"

namespace cppfpm::test {

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

const std::filesystem::path deploy_nginx =
    std::filesystem::path(CPPFPM_SOURCE_DIR) / "deploy/nginx";

}  // namespace

std::string nginx_config(const std::filesystem::path& dir, int listen_port,
                         const std::vector<int>& fpm_ports) {
  std::string conf = read_file(deploy_nginx / "nginx.conf.in");
  std::string servers;
  for (int port : fpm_ports) {
    if (!servers.empty()) servers += "\n";
    servers += "        server 127.0.0.1:" + std::to_string(port) + ";";
  }
  // As root, workers would switch to `nobody` and lose access to the temp dir.
  replace_all(conf, "@USER_LINE@", ::geteuid() == 0 ? "user root;" : "");
  replace_all(conf, "@STATE@", dir.string());
  replace_all(conf, "@HTTP_PORT@", std::to_string(listen_port));
  replace_all(conf, "@UPSTREAM_SERVERS@", servers);
  replace_all(conf, "@NGINX_DIR@", deploy_nginx.string());
  return conf;
}

Nginx::Nginx(const std::filesystem::path& dir, int fpm_port, int port)
    : Nginx(dir, std::vector<int>{fpm_port}, port) {}

Nginx::Nginx(const std::filesystem::path& dir, const std::vector<int>& fpm_ports, int port)
    : dir_(dir), port_(port ? port : free_loopback_port()) {
  auto conf_dir = dir_ / "nginx";
  std::filesystem::create_directories(conf_dir);
  std::filesystem::create_directories(dir_ / "html");
  // The seed's block says `include fastcgi_params;`, relative to nginx.conf.
  std::filesystem::copy_file("/etc/nginx/fastcgi_params", conf_dir / "fastcgi_params",
                             std::filesystem::copy_options::overwrite_existing);
  write_file(conf_dir / "nginx.conf", nginx_config(dir_, port_, fpm_ports));
  // -e: the error log before nginx.conf is read (nginx >= 1.19.5).
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"nginx", "-p", conf_dir.string(), "-c",
                               (conf_dir / "nginx.conf").string(), "-e",
                               (conf_dir / "error.log").string(), "-g", "daemon off;"},
      dir_ / "nginx.out");
  if (!process_->wait_for_port(port_, 10s))
    throw std::runtime_error("nginx did not listen on port " + std::to_string(port_) + ": " +
                             process_->log() + error_log());
}

std::string Nginx::error_log() const {
  try {
    return read_file(dir_ / "nginx" / "error.log");
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace cppfpm::test
