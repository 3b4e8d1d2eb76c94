#include "server/command_line.h"

#include <CLI/CLI.hpp>

namespace cppfpm::server {

namespace {

constexpr const char* kDefaultConfig = "/etc/cppfpm/cppfpm.conf";

// php-fpm's `-d foo` defines foo as "1" (PHP's -d).
std::pair<std::string, std::string> split_define(const std::string& define) {
  auto eq = define.find('=');
  if (eq == std::string::npos) return {define, "1"};
  return {define.substr(0, eq), define.substr(eq + 1)};
}

}  // namespace

void print_usage(std::ostream& out) {
  out << "Usage: cppfpm [-n] [-e] [-h] [-i] [-m] [-v] [-t] [-p <prefix>] [-g <pid>] [-c <file>] "
         "[-d foo[=bar]] [-y <file>] [-D] [-F [-O]]\n"
         "  -c <path>|<file> Accepted for php-fpm's sake; compiled pages read no php.ini\n"
         "  -n               Accepted for php-fpm's sake; compiled pages read no php.ini\n"
         "  -d foo[=bar]     Set cppfpm setting foo (session.*, sql.*, cache.*) for every pool\n"
         "  -e               Accepted for php-fpm's sake; no effect on compiled pages\n"
         "  -h               This help\n"
         "  -i               cppfpm build information\n"
         "  -m               Show the compiled pages\n"
         "  -v               Version number\n"
         "  -p, --prefix <dir>\n"
         "                   Specify alternative prefix path (relative paths in the config "
         "resolve against it).\n"
         "  -g, --pid <file>\n"
         "                   Specify the PID file location.\n"
         "  -y, --fpm-config <file>\n"
         "                   Specify alternative path to the configuration file.\n"
         "  -t, --test       Test the configuration and exit (-tt also dumps it)\n"
         "  -D, --daemonize  force to run in background, and ignore daemonize option from "
         "config file\n"
         "  -F, --nodaemonize\n"
         "                   force to stay in foreground, and ignore daemonize option from "
         "config file\n"
         "  -O, --force-stderr\n"
         "                   force output to stderr in nodaemonize even if stderr is not a TTY\n"
         "  -R, --allow-to-run-as-root\n"
         "                   Allow pool to run as root (disabled by default)\n";
}

std::variant<CommandLine, int> parse_command_line(int argc, char** argv, std::string_view version,
                                                  std::ostream& out) {
  CommandLine options;
  bool help = false, show_version = false, no_ini = false, extended = false;
  std::string php_ini;
  std::vector<std::string> defines;
  CLI::App app{"cppfpm"};
  app.set_help_flag();  // php-fpm's -h prints its own text, below
  app.add_option("-y,--fpm-config", options.config_path);
  app.add_flag("-t,--test", options.test);
  app.add_flag("-F,--nodaemonize", options.foreground);
  app.add_flag("-D,--daemonize", options.daemonize);
  app.add_flag("-R,--allow-to-run-as-root", options.allow_root);
  app.add_flag("-O,--force-stderr", options.force_stderr);
  app.add_option("-p,--prefix", options.prefix);
  app.add_option("-g,--pid", options.pid);
  app.add_option("-d,--define", defines);
  app.add_option("-c,--php-ini", php_ini);
  app.add_flag("-n", no_ini);
  app.add_flag("-e", extended);
  app.add_flag("-i,--info", options.info);
  app.add_flag("-m,--modules", options.pages);
  app.add_flag("-h,--help", help);
  app.add_flag("-v,--version", show_version);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError&) {
    print_usage(out);
    return kExitUsage;
  }
  if (help) {
    print_usage(out);
    return 0;
  }
  if (show_version) {
    out << "cppfpm " << version << " (fpm-fcgi) (built: " << __DATE__ << " " << __TIME__ << ")\n";
    return 0;
  }
  for (const auto& define : defines) options.defines.push_back(split_define(define));
  if (!php_ini.empty()) options.php_only.push_back("-c");
  if (no_ini) options.php_only.push_back("-n");
  if (extended) options.php_only.push_back("-e");
  return options;
}

std::string config_path(const CommandLine& options) {
  if (!options.config_path.empty()) return options.config_path;
  if (!options.prefix.empty()) return options.prefix + "/etc/cppfpm.conf";
  return kDefaultConfig;
}

std::vector<std::string> php_only_notices(const CommandLine& options) {
  std::vector<std::string> notices;
  for (const auto& flag : options.php_only) {
    if (flag == "-e")
      notices.push_back("-e is ignored: compiled pages have no debugger or profiler hooks");
    else
      notices.push_back(flag + " is ignored: compiled pages read no php.ini");
  }
  return notices;
}

}  // namespace cppfpm::server
