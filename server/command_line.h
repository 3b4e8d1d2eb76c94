#pragma once
// php-fpm 8.2's command line, all of it (see DESIGN.md "Command line").
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cppfpm::server {

struct CommandLine {
  std::string config_path;    // -y; "" = the default file
  int test = 0;               // -t given this many times: 1 checks, 2 (-tt) also dumps
  bool foreground = false;    // -F
  bool daemonize = false;     // -D
  bool allow_root = false;    // -R: pools without `user` may run as root
  bool force_stderr = false;  // -O: log to stderr too when -F and error_log is a file
  std::string prefix;         // -p: relative paths resolve against it
  std::string pid;            // -g: the pid file when the config names none
  std::vector<std::pair<std::string, std::string>> defines;  // -d name[=value], in order
  std::vector<std::string> php_only;  // those of -c, -n, -e given: PHP's, meaningless here
  bool info = false;                  // -i
  bool pages = false;                 // -m
};

// Exit statuses of the command line itself.
inline constexpr int kExitUsage = 64;  // EX_USAGE, php-fpm's for an unknown option

// The options, or the exit status when the command line ends the program:
// -h and -v (0, printed to `out`), an unknown option or a missing argument
// (the usage on `out`, 64, as php-fpm).
std::variant<CommandLine, int> parse_command_line(int argc, char** argv, std::string_view version,
                                                  std::ostream& out);

// php-fpm's usage text under cppfpm's name.
void print_usage(std::ostream& out);

// The file to load: -y, else PREFIX/etc/cppfpm.conf with -p (php-fpm's
// rule), else /etc/cppfpm/cppfpm.conf. It may not exist.
std::string config_path(const CommandLine& options);

// One NOTICE line for each of -c, -n, -e: they set up PHP, which compiled
// pages do not run.
std::vector<std::string> php_only_notices(const CommandLine& options);

}  // namespace cppfpm::server
