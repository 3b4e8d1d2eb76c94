// cppfpm: php-fpm's command line, config and process model for compiled
// C++ pages.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "handlers/handler.h"
#include "pool/config.h"
#include "pool/master.h"
#include "server/child.h"
#include "server/listener.h"
#include "server/log.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/cppfpm/cppfpm.conf";

struct Options {
  std::string config_path;
  bool test = false;
  bool foreground = false;
  bool daemonize = false;
};

std::optional<cppfpm::pool::Config> load(const Options& options) {
  namespace pool = cppfpm::pool;
  std::string path = options.config_path;
  if (path.empty() && ::access(kDefaultConfig, F_OK) == 0) path = kDefaultConfig;
  if (path.empty()) return pool::default_config();
  pool::LoadResult result = pool::load_config(path);
  for (const auto& w : result.warnings) std::cerr << "WARNING: " << w.str() << "\n";
  for (const auto& e : result.errors) std::cerr << e.str() << "\n";
  if (!result.ok()) {
    std::cerr << "ERROR: failed to load configuration file '" << path << "'\n";
    return std::nullopt;
  }
  return std::move(result.config);
}

// Forks into the background; the parent exits once the daemon reports
// (through a pipe) that it is ready, with the daemon's verdict.
bool daemonize(int& ready_fd) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return false;
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid > 0) {
    ::close(pipefd[1]);
    char status = 1;
    if (::read(pipefd[0], &status, 1) != 1) status = 1;
    ::_exit(status);
  }
  ::close(pipefd[0]);
  ::setsid();
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::close(null);
  }
  ready_fd = pipefd[1];
  return true;
}

void report_ready(int& ready_fd, char status) {
  if (ready_fd < 0) return;
  [[maybe_unused]] auto n = ::write(ready_fd, &status, 1);
  ::close(ready_fd);
  ready_fd = -1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace pool = cppfpm::pool;
  namespace server = cppfpm::server;
  Options options;
  CLI::App app{"cppfpm - a FastCGI process manager for compiled C++ pages"};
  app.set_version_flag("-v,--version", std::string("cppfpm ") + CPPFPM_VERSION);
  app.add_option("-y,--fpm-config", options.config_path, "Specify alternative path to the configuration file");
  app.add_flag("-t,--test", options.test, "Test the configuration file and exit");
  app.add_flag("-F,--nodaemonize", options.foreground, "Force to stay in foreground, and ignore daemonize option");
  app.add_flag("-D,--daemonize", options.daemonize, "Force to run in background, and ignore daemonize option");
  CLI11_PARSE(app, argc, argv);

  std::optional<pool::Config> config = load(options);
  if (!config) return 78;  // EX_CONFIG
  if (options.test) {
    std::cerr << "NOTICE: configuration file " << (config->path.empty() ? "(defaults)" : config->path)
              << " test is successful\n";
    return 0;
  }
  bool background = options.daemonize || (config->global.daemonize && !options.foreground);
  server::init_logging(config->global.error_log, config->global.log_level);

  std::vector<server::Fd> listeners;
  std::vector<pool::PoolRuntime> pools;
  for (const auto& p : config->pools) {
    std::string error;
    auto address = server::parse_listen(p.listen, error);
    if (!address) {
      spdlog::error("[pool {}] listen: {}", p.name, error);
      return 78;
    }
    try {
      listeners.push_back(server::open_listener(
          *address, server::ListenOptions{p.listen_backlog, p.listen_owner, p.listen_group, p.listen_mode}));
    } catch (const std::exception& e) {
      spdlog::error("[pool {}] {}", p.name, e.what());
      return 1;
    }
    pools.push_back(pool::PoolRuntime{&p, listeners.back().get()});
  }

  int ready_fd = -1;
  if (background && !daemonize(ready_fd)) {
    spdlog::error("fork() failed while daemonizing");
    return 1;
  }
  if (!config->global.pid.empty()) {
    std::ofstream pid_file(config->global.pid, std::ios::trunc);
    pid_file << ::getpid() << "\n";
    if (!pid_file) spdlog::error("failed to write pid file '{}'", config->global.pid);
  }
  report_ready(ready_fd, 0);

  auto routes = cppfpm::handlers::builtin_routes();
  pool::Master master(*config, std::move(pools), [&routes](const pool::PoolConfig& p, int fd) {
    return server::run_child(p, fd, routes);
  });
  master.on_reopen_logs([] { server::reopen_logs(); });
  int code = master.run();
  if (!config->global.pid.empty()) ::unlink(config->global.pid.c_str());
  return code;
}
