// cppfpm: php-fpm's command line, config and process model for compiled
// C++ pages. The start-up sequence; each step lives in the file it names.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string_view>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include "handlers/handler.h"
#include "pool/master.h"
#include "server/build_info.h"
#include "server/child.h"
#include "server/command_line.h"
#include "server/config_check.h"
#include "server/config_dump.h"
#include "server/daemon.h"
#include "server/listeners.h"
#include "server/log.h"
#include "server/proc_title.h"
#include "server/reexec.h"

namespace {

// Routes the build serves (the test pages only when asked for).
std::vector<cppfpm::handlers::Route> served_routes() {
  auto routes = cppfpm::handlers::builtin_routes();
#ifdef CPPFPM_TEST_PAGES
  if (const char* test = std::getenv("CPPFPM_TEST_PAGES"); test && std::string_view(test) == "1")
    for (auto& r : cppfpm::handlers::test_routes()) routes.push_back(std::move(r));
#endif
  return routes;
}

cppfpm::server::StartSettings start_settings(const cppfpm::server::CommandLine& options) {
  return {options.prefix, options.pid, options.allow_root, ::geteuid() == 0, options.defines};
}

}  // namespace

int main(int argc, char** argv) {
  namespace pool = cppfpm::pool;
  namespace server = cppfpm::server;
  server::init_proc_title(argc, argv);
  auto parsed = server::parse_command_line(argc, argv, CPPFPM_VERSION, std::cout);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const server::CommandLine& options = std::get<server::CommandLine>(parsed);
  if (options.info) {
    server::print_build_info(std::cout, CPPFPM_VERSION);
    return 0;
  }
  if (options.pages) {
    server::print_pages(std::cout, cppfpm::handlers::builtin_routes());
    return 0;
  }
  for (const auto& notice : server::php_only_notices(options))
    std::cerr << server::log_time_prefix() << "NOTICE: " << notice << "\n";

  const bool reexecuted = server::take_reexec_marker();
  const std::string path = server::config_path(options);
  const server::StartSettings settings = start_settings(options);
  server::ConfigCheck check = server::check_config(path, settings);
  server::print_config_check(check, std::cerr);
  if (!check.config) return 78;  // EX_CONFIG
  const pool::Config& config = *check.config;
  // php-fpm 8.2 says this as it post-processes the config: before -tt's
  // dump, and at start (and after each reload) before the sockets open.
  std::vector<std::string> post_process_notices;
  for (const auto& p : config.pools)
    if (p.pm == pool::PmMode::dynamic && p.pm_start_servers_defaulted)
      post_process_notices.push_back("[pool " + p.name +
                                     "] pm.start_servers is not set. It's been set to " +
                                     std::to_string(p.pm_start_servers) + ".");
  if (options.test > 0) {
    // php-fpm's -t lines: time stamp and level (cut to log_limit as
    // php-fpm cuts them).
    auto notice = [&config](const std::string& text) {
      std::cerr << server::stamped_line("NOTICE", text, config.global.log_limit);
    };
    for (const auto& text : post_process_notices) notice(text);
    if (options.test > 1)
      for (const auto& line : server::dump_config(config)) notice(line);
    notice("configuration file " + config.path + " test is successful");
    std::cerr << '\n';  // php-fpm's message carries a newline of its own
    return 0;
  }
  bool background =
      !reexecuted && (options.daemonize || (config.global.daemonize && !options.foreground));
  // php-fpm in the foreground copies its log to stderr with -O, or when
  // stderr is a terminal.
  bool log_to_stderr_too = !background && (options.force_stderr || ::isatty(STDERR_FILENO));
  server::set_proc_title("cppfpm: master process (" + config.path + ")");
  server::set_log_limit(config.global.log_limit);
  server::init_logging(config.global.error_log, config.global.log_level, log_to_stderr_too,
                       {config.global.syslog_ident, config.global.syslog_facility});
  if (!settings.as_root) server::log_ignored_identity(config);
  for (const auto& text : post_process_notices) spdlog::info("{}", text);
  server::open_pool_logs(config);  // before any child: children may not open them

  server::Listeners listeners(server::take_inherited_fds().fds);
  std::vector<pool::PoolRuntime> pools;
  if (int code = server::open_pool_listeners(config, listeners, pools); code != 0) return code;
  server::HandoffPairs handoffs;
  handoffs.assign(pools);

  server::Fd ready;
  if (background && !server::daemonize(ready)) return 1;  // daemonize() said which call failed
  if (background) server::point_stderr_at_log(config.global.error_log);
  if (!config.global.pid.empty()) server::write_pid_file(config.global.pid);
  server::report_ready(ready, 0);

  auto routes = served_routes();
  pool::Master master(config, std::move(pools),
                      [&routes](const pool::PoolConfig& p, int fd, const pool::ChildIdentity& id) {
                        return server::run_child(p, fd, id, routes);
                      });
  master.adopt_old_children(server::take_old_children());
  master.on_reopen_logs([] { server::reopen_logs(); });
  master.on_reload([&path, &settings] {
    // Build the new configuration or keep the old one.
    server::ConfigCheck next = server::check_config(path, settings);
    if (next.config) return true;  // the new process says its warnings, after execvp
    server::log_config_check(next);
    spdlog::error("reload aborted: the old configuration keeps running");
    return false;
  });
  int code = master.run();
  if (master.reload_requested())
    server::reexec(argv, listeners.named(), master.live_children(), handoffs.named());
  if (!config.global.pid.empty()) ::unlink(config.global.pid.c_str());
  return code;
}
