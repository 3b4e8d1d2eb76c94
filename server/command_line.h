#pragma once
// php-fpm's command line (see DESIGN.md "Command line").
#include <string>
#include <string_view>
#include <variant>

namespace cppfpm::server {

struct CommandLine {
  std::string config_path;  // -y; "" = the default file, or built-in defaults without it
  bool test = false;        // -t
  bool foreground = false;  // -F
  bool daemonize = false;   // -D
};

// The options, or the exit status when the command line ends the program
// (--help, --version, a bad option: CLI11 has printed what to print).
std::variant<CommandLine, int> parse_command_line(int argc, char** argv, std::string_view version);

// The file to load: -y, else /etc/cppfpm/cppfpm.conf when it exists, else
// "" (built-in defaults).
std::string config_path(const CommandLine& options);

}  // namespace cppfpm::server
