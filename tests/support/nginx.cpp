#include "support/nginx.h"

#include <unistd.h>

#include <stdexcept>

#include "support/temp_dir.h"

namespace cppfpm::test {

std::string nginx_config(const std::filesystem::path& dir, int listen_port,
                         const std::vector<int>& fpm_ports) {
  const std::string d = dir.string();
  std::string conf;
  // As root, workers would switch to `nobody` and lose access to the temp dir.
  if (::geteuid() == 0) conf += "user root;\n";
  conf += "daemon off;\n"
          "master_process on;\n"
          "worker_processes 1;\n"
          "pid " + d + "/nginx.pid;\n"
          "error_log " + d + "/error.log info;\n"
          "events { worker_connections 1024; }\n"
          "http {\n"
          "  access_log off;\n"
          "  client_body_temp_path " + d + "/client_body;\n"
          "  proxy_temp_path " + d + "/proxy;\n"
          "  fastcgi_temp_path " + d + "/fastcgi;\n"
          "  uwsgi_temp_path " + d + "/uwsgi;\n"
          "  scgi_temp_path " + d + "/scgi;\n"
          "  upstream phpServers {\n";
  for (int fpm_port : fpm_ports) conf += "    server 127.0.0.1:" + std::to_string(fpm_port) + ";\n";
  conf += "    keepalive 16;\n"
          "  }\n"
          "  server {\n"
          "    listen 127.0.0.1:" + std::to_string(listen_port) + ";\n"
          "    location ~ \\.php$ {\n"
          "      root /phpPages;\n"
          "      fastcgi_pass phpServers;\n"
          "      fastcgi_keep_conn on;\n"
          "      fastcgi_index index.php;\n"
          "      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
          "      include /etc/nginx/fastcgi_params;\n"
          "    }\n"
          "  }\n"
          "}\n";
  return conf;
}

Nginx::Nginx(const std::filesystem::path& dir, int fpm_port, int port)
    : Nginx(dir, std::vector<int>{fpm_port}, port) {}

Nginx::Nginx(const std::filesystem::path& dir, const std::vector<int>& fpm_ports, int port)
    : dir_(dir), port_(port ? port : free_loopback_port()) {
  std::filesystem::create_directories(dir_);
  write_file(dir_ / "nginx.conf", nginx_config(dir_, port_, fpm_ports));
  // -e: the error log before nginx.conf is read (nginx >= 1.19.5).
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string(),
                               "-e", (dir_ / "error.log").string()},
      dir_ / "nginx.out");
  if (!process_->wait_for_port(port_, 10s))
    throw std::runtime_error("nginx did not listen on port " + std::to_string(port_) + ": " +
                             process_->log() + error_log());
}

std::string Nginx::error_log() const {
  try {
    return read_file(dir_ / "error.log");
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace cppfpm::test
