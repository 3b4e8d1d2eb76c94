// cppfpm: php-fpm's command line, config and process model for compiled
// C++ pages. The start-up sequence; each step lives in the file it names.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string_view>
#include <variant>

#include <spdlog/spdlog.h>

#include "handlers/handler.h"
#include "pool/master.h"
#include "server/child.h"
#include "server/command_line.h"
#include "server/config_check.h"
#include "server/daemon.h"
#include "server/listeners.h"
#include "server/log.h"
#include "server/reexec.h"

int main(int argc, char** argv) {
  namespace pool = cppfpm::pool;
  namespace server = cppfpm::server;
  auto parsed = server::parse_command_line(argc, argv, CPPFPM_VERSION);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const server::CommandLine& options = std::get<server::CommandLine>(parsed);

  const bool reexecuted = server::take_reexec_marker();
  const std::string path = server::config_path(options);
  server::ConfigCheck check = server::check_config(path);
  server::print_config_check(check, std::cerr);
  if (!check.config) return 78;  // EX_CONFIG
  const pool::Config& config = *check.config;
  if (options.test) {
    std::cerr << "NOTICE: configuration file " << (config.path.empty() ? "(defaults)" : config.path)
              << " test is successful\n";
    return 0;
  }
  bool background =
      !reexecuted && (options.daemonize || (config.global.daemonize && !options.foreground));
  server::init_logging(config.global.error_log, config.global.log_level);

  server::Listeners listeners(server::take_inherited_fds().fds);
  std::vector<pool::PoolRuntime> pools;
  if (int code = server::open_pool_listeners(config, listeners, pools); code != 0) return code;

  server::Fd ready;
  if (background && !server::daemonize(ready)) {
    spdlog::error("fork() failed while daemonizing");
    return 1;
  }
  if (!config.global.pid.empty()) server::write_pid_file(config.global.pid);
  server::report_ready(ready, 0);

  auto routes = cppfpm::handlers::builtin_routes();
#ifdef CPPFPM_TEST_PAGES
  if (const char* test = std::getenv("CPPFPM_TEST_PAGES"); test && std::string_view(test) == "1")
    for (auto& r : cppfpm::handlers::test_routes()) routes.push_back(std::move(r));
#endif
  pool::Master master(config, std::move(pools),
                      [&routes](const pool::PoolConfig& p, int fd, const pool::ChildIdentity& id) {
                        return server::run_child(p, fd, id, routes);
                      });
  master.adopt_old_children(server::take_old_children());
  master.on_reopen_logs([] { server::reopen_logs(); });
  master.on_reload([&path] {
    // Build the new configuration or keep the old one.
    server::ConfigCheck next = server::check_config(path);
    server::log_config_check(next);
    if (!next.config) spdlog::error("reload aborted: the old configuration keeps running");
    return next.config.has_value();
  });
  int code = master.run();
  if (master.reload_requested()) server::reexec(argv, listeners.named(), master.live_children());
  if (!config.global.pid.empty()) ::unlink(config.global.pid.c_str());
  return code;
}
