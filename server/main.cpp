// cppfpm: php-fpm's command line, config and process model for compiled
// C++ pages.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "handlers/handler.h"
#include "pool/child_setup.h"
#include "pool/config.h"
#include "pool/master.h"
#include "server/child.h"
#include "server/fastcgi/listener.h"
#include "server/log.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/cppfpm/cppfpm.conf";
// Set across a SIGUSR2 re-exec: "address=fd;..." listening sockets to keep,
// and the pids of the previous generation's children.
constexpr const char* kInheritedFdsEnv = "CPPFPM_INHERITED_FDS";
constexpr const char* kOldChildrenEnv = "CPPFPM_OLD_CHILDREN";

struct Options {
  std::string config_path;
  bool test = false;
  bool foreground = false;
  bool daemonize = false;
};

std::string config_path(const Options& options) {
  if (options.config_path.empty() && ::access(kDefaultConfig, F_OK) == 0) return kDefaultConfig;
  return options.config_path;
}

// Loads the config; diagnostics go to `report` (stderr at start, the log on reload).
std::optional<cppfpm::pool::Config> load(const std::string& path,
                                         const std::function<void(const std::string&)>& report) {
  namespace pool = cppfpm::pool;
  if (path.empty()) return pool::default_config();
  pool::LoadResult result = pool::load_config(path);
  for (const auto& w : result.warnings) report("WARNING: " + w.str());
  for (const auto& e : result.errors) report(e.str());
  bool ok = result.ok();
  if (ok) {
    for (const auto& p : result.config->pools) {
      if (std::string why = pool::check_pool_identity(p); !why.empty()) {
        report(path + ":0: " + why);
        ok = false;
      }
    }
  }
  if (!ok) {
    report("ERROR: failed to load configuration file '" + path + "'");
    return std::nullopt;
  }
  return std::move(result.config);
}

std::map<std::string, int> inherited_fds() {
  std::map<std::string, int> fds;
  const char* env = std::getenv(kInheritedFdsEnv);
  if (!env) return fds;
  std::string_view rest(env);
  while (!rest.empty()) {
    auto end = rest.find(';');
    std::string_view item = rest.substr(0, end);
    auto eq = item.rfind('=');
    if (eq != std::string_view::npos) fds[std::string(item.substr(0, eq))] = std::atoi(std::string(item.substr(eq + 1)).c_str());
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  ::unsetenv(kInheritedFdsEnv);
  return fds;
}

std::set<pid_t> old_children() {
  std::set<pid_t> pids;
  if (const char* env = std::getenv(kOldChildrenEnv)) {
    std::string list(env);
    std::size_t pos = 0;
    while (pos < list.size()) {
      auto end = list.find(',', pos);
      if (end == std::string::npos) end = list.size();
      if (pid_t pid = std::atoi(list.substr(pos, end - pos).c_str()); pid > 0) pids.insert(pid);
      pos = end + 1;
    }
    ::unsetenv(kOldChildrenEnv);
  }
  return pids;
}

// SIGUSR2: php-fpm re-executes itself. The listening sockets survive the
// exec (the kernel keeps queueing connections meanwhile); the old children
// finish their requests and are reaped by the new generation.
[[noreturn]] void reexec(char** argv, const std::vector<std::pair<std::string, int>>& listeners,
                         const std::set<pid_t>& children) {
  std::string fds;
  for (const auto& [address, fd] : listeners) {
    ::fcntl(fd, F_SETFD, 0);
    fds += address + "=" + std::to_string(fd) + ";";
  }
  std::string pids;
  for (pid_t pid : children) pids += std::to_string(pid) + ",";
  ::setenv(kInheritedFdsEnv, fds.c_str(), 1);
  ::setenv(kOldChildrenEnv, pids.c_str(), 1);
  ::setenv("CPPFPM_REEXEC", "1", 1);
  spdlog::default_logger()->flush();
  ::execv("/proc/self/exe", argv);
  spdlog::critical("execv() failed during reload: {}", std::strerror(errno));
  ::_exit(1);
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

// The listening socket for `value` (a pool's listen or pm.status_listen):
// the one kept open across a reload when there is one, else a new one.
// -1 with the exit code in `code` when it cannot be had.
int open_or_inherit(const cppfpm::pool::PoolConfig& p, const char* key, const std::string& value,
                    std::map<std::string, int>& inherited, std::vector<cppfpm::server::Fd>& listeners,
                    std::vector<std::pair<std::string, int>>& names, int& code) {
  namespace server = cppfpm::server;
  std::string error;
  auto address = server::parse_listen(value, error);
  if (!address) {
    spdlog::error("[pool {}] {}: {}", p.name, key, error);
    code = 78;
    return -1;
  }
  if (auto it = inherited.find(address->str()); it != inherited.end()) {
    ::fcntl(it->second, F_SETFD, FD_CLOEXEC);
    listeners.emplace_back(it->second);
    inherited.erase(it);
  } else {
    try {
      listeners.push_back(server::open_listener(
          *address, server::ListenOptions{p.listen_backlog, p.listen_owner, p.listen_group, p.listen_mode}));
    } catch (const std::exception& e) {
      spdlog::error("[pool {}] {}: {}", p.name, key, e.what());
      code = 1;
      return -1;
    }
  }
  names.emplace_back(address->str(), listeners.back().get());
  return listeners.back().get();
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

  const bool reexecuted = std::getenv("CPPFPM_REEXEC") != nullptr;
  ::unsetenv("CPPFPM_REEXEC");
  const std::string path = config_path(options);
  std::optional<pool::Config> config = load(path, [](const std::string& line) { std::cerr << line << "\n"; });
  if (!config) return 78;  // EX_CONFIG
  if (options.test) {
    std::cerr << "NOTICE: configuration file " << (config->path.empty() ? "(defaults)" : config->path)
              << " test is successful\n";
    return 0;
  }
  bool background = !reexecuted && (options.daemonize || (config->global.daemonize && !options.foreground));
  server::init_logging(config->global.error_log, config->global.log_level);

  std::map<std::string, int> inherited = inherited_fds();
  std::vector<server::Fd> listeners;
  std::vector<std::pair<std::string, int>> listener_names;
  std::vector<pool::PoolRuntime> pools;
  for (const auto& p : config->pools) {
    int code = 0;
    int listen_fd = open_or_inherit(p, "listen", p.listen, inherited, listeners, listener_names, code);
    if (listen_fd < 0) return code;
    pools.push_back(pool::PoolRuntime{&p, listen_fd});
    if (!p.pm_status_listen.empty()) {
      int status_fd =
          open_or_inherit(p, "pm.status_listen", p.pm_status_listen, inherited, listeners, listener_names, code);
      if (status_fd < 0) return code;
      pools.back().status_fd = status_fd;
    }
  }
  for (const auto& [address, fd] : inherited) ::close(fd);  // no pool listens there any more

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
#ifdef CPPFPM_TEST_PAGES
  if (const char* test = std::getenv("CPPFPM_TEST_PAGES"); test && std::string_view(test) == "1")
    for (auto& r : cppfpm::handlers::test_routes()) routes.push_back(std::move(r));
#endif
  pool::Master master(*config, std::move(pools),
                      [&routes](const pool::PoolConfig& p, int fd, const pool::ChildIdentity& id) {
                        return server::run_child(p, fd, id, routes);
                      });
  master.adopt_old_children(old_children());
  master.on_reopen_logs([] { server::reopen_logs(); });
  master.on_reload([&path] {
    // Build the new configuration or keep the old one.
    bool ok = load(path, [](const std::string& line) {
                 constexpr std::string_view kWarning = "WARNING: ";
                 if (line.compare(0, kWarning.size(), kWarning) == 0)
                   spdlog::warn("{}", line.substr(kWarning.size()));
                 else if (line.compare(0, 7, "ERROR: ") == 0)
                   spdlog::error("{}", line.substr(7));
                 else
                   spdlog::error("{}", line);
               }).has_value();
    if (!ok) spdlog::error("reload aborted: the old configuration keeps running");
    return ok;
  });
  int code = master.run();
  if (master.reload_requested()) reexec(argv, listener_names, master.live_children());
  if (!config->global.pid.empty()) ::unlink(config->global.pid.c_str());
  return code;
}
