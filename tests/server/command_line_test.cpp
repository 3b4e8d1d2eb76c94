// php-fpm 8.2's command line, parsed without running anything.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "server/command_line.h"

using namespace cppfpm::server;

namespace {

struct Parsed {
  std::variant<CommandLine, int> result;
  std::string out;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "cppfpm");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out;
  auto result = parse_command_line(static_cast<int>(argv.size()), argv.data(), "1.2.3", out);
  return {std::move(result), out.str()};
}

CommandLine options(std::vector<std::string> args) {
  Parsed p = parse(std::move(args));
  INFO(p.out);
  REQUIRE(std::holds_alternative<CommandLine>(p.result));
  return std::get<CommandLine>(p.result);
}

}  // namespace

TEST_CASE("command line: every php-fpm 8.2 flag is accepted, short and long") {
  CommandLine o =
      options({"-y", "/etc/x.conf", "-F", "-O", "-R", "-p", "/srv", "-g", "run/x.pid", "-d",
               "session.name=FOO", "-d", "session.lazy_write", "-c", "php.ini", "-n", "-e"});
  CHECK(o.config_path == "/etc/x.conf");
  CHECK(o.foreground);
  CHECK(o.force_stderr);
  CHECK(o.allow_root);
  CHECK(o.prefix == "/srv");
  CHECK(o.pid == "run/x.pid");
  REQUIRE(o.defines.size() == 2);
  CHECK(o.defines[0] == std::pair<std::string, std::string>{"session.name", "FOO"});
  // php's `-d foo` defines foo as "1".
  CHECK(o.defines[1] == std::pair<std::string, std::string>{"session.lazy_write", "1"});
  CHECK(o.php_only == std::vector<std::string>{"-c", "-n", "-e"});

  CommandLine l = options({"--fpm-config=/a.conf", "--nodaemonize", "--force-stderr",
                           "--allow-to-run-as-root", "--prefix", "/p", "--pid", "/q.pid",
                           "--define", "session.name=X", "--php-ini", "/etc/php.ini", "--test"});
  CHECK(l.config_path == "/a.conf");
  CHECK(l.foreground);
  CHECK(l.force_stderr);
  CHECK(l.allow_root);
  CHECK(l.prefix == "/p");
  CHECK(l.pid == "/q.pid");
  CHECK(l.defines.size() == 1);
  CHECK(l.test == 1);
  CHECK(options({"-D"}).daemonize);
  CHECK(options({"-i"}).info);
  CHECK(options({"--modules"}).pages);
}

TEST_CASE("command line: -t counts, so -tt and -t -t dump the config") {
  CHECK(options({"-t"}).test == 1);
  CHECK(options({"-tt"}).test == 2);
  CHECK(options({"-t", "-t"}).test == 2);
  CHECK(options({}).test == 0);
}

TEST_CASE("command line: an unknown option or a missing argument prints the usage, exit 64") {
  for (auto args : std::vector<std::vector<std::string>>{{"-Z"}, {"--bogus"}, {"-y"}, {"stray"}}) {
    Parsed p = parse(args);
    INFO(args[0]);
    REQUIRE(std::holds_alternative<int>(p.result));
    CHECK(std::get<int>(p.result) == 64);
    CHECK(p.out.rfind("Usage: cppfpm [-n] [-e] [-h] [-i] [-m] [-v] [-t]", 0) == 0);
  }
}

TEST_CASE("command line: -h prints the usage and -v the version, exit 0") {
  Parsed help = parse({"-h"});
  REQUIRE(std::holds_alternative<int>(help.result));
  CHECK(std::get<int>(help.result) == 0);
  CHECK(help.out.find("-R, --allow-to-run-as-root") != std::string::npos);
  Parsed version = parse({"--version"});
  REQUIRE(std::holds_alternative<int>(version.result));
  CHECK(std::get<int>(version.result) == 0);
  CHECK(version.out.rfind("cppfpm 1.2.3 (fpm-fcgi) (built: ", 0) == 0);
}

TEST_CASE("command line: the config file is -y, else under -p, else /etc/cppfpm/cppfpm.conf") {
  CHECK(config_path(options({"-y", "a.conf", "-p", "/srv"})) == "a.conf");
  CHECK(config_path(options({"-p", "/srv"})) == "/srv/etc/cppfpm.conf");
  CHECK(config_path(options({})) == "/etc/cppfpm/cppfpm.conf");
}

TEST_CASE("command line: -c, -n and -e each get a notice, nothing else does") {
  CHECK(php_only_notices(options({})).empty());
  auto notices = php_only_notices(options({"-n", "-c", "/etc/php.ini"}));
  REQUIRE(notices.size() == 2);
  CHECK(notices[0] == "-c is ignored: compiled pages read no php.ini");
  CHECK(notices[1] == "-n is ignored: compiled pages read no php.ini");
}
