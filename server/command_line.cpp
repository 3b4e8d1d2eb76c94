#include "server/command_line.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

namespace cppfpm::server {

namespace {
constexpr const char* kDefaultConfig = "/etc/cppfpm/cppfpm.conf";
}

std::variant<CommandLine, int> parse_command_line(int argc, char** argv, std::string_view version) {
  CommandLine options;
  CLI::App app{"cppfpm - a FastCGI process manager for compiled C++ pages"};
  app.set_version_flag("-v,--version", "cppfpm " + std::string(version));
  app.add_option("-y,--fpm-config", options.config_path,
                 "Specify alternative path to the configuration file");
  app.add_flag("-t,--test", options.test, "Test the configuration file and exit");
  app.add_flag("-F,--nodaemonize", options.foreground,
               "Force to stay in foreground, and ignore daemonize option");
  app.add_flag("-D,--daemonize", options.daemonize,
               "Force to run in background, and ignore daemonize option");
  CLI11_PARSE(app, argc, argv);
  return options;
}

std::string config_path(const CommandLine& options) {
  if (options.config_path.empty() && ::access(kDefaultConfig, F_OK) == 0) return kDefaultConfig;
  return options.config_path;
}

}  // namespace cppfpm::server
