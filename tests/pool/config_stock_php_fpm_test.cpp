// Debian 12's stock php8.2-fpm files (reproduced in fixtures/) must load:
// "an existing php-fpm pool file must load" (DESIGN.md, Config file).
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "config_test_support.h"
#include "pool/config.h"

using namespace cppfpm::pool;
using namespace cppfpm::pool::test;
using namespace std::chrono_literals;

namespace {

const char kStockPoolDir[] = "/etc/php/8.2/fpm/pool.d";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// Turns every commented-out example directive (";pm.max_requests = 500",
// "; process.priority = -19") into a live one; returns the lines changed.
std::set<int> uncomment_examples(std::string& text) {
  static const std::regex kExample(R"(^; ?[a-z_.]+(\[[^\]]*\])? *=.*)");
  std::istringstream in(text);
  std::string out;
  std::set<int> changed;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (std::regex_match(line, kExample)) {
      line.erase(0, line[1] == ' ' ? 2 : 1);
      changed.insert(number);
    }
    out += line + "\n";
  }
  text = out;
  return changed;
}

void check_stock_www(const PoolConfig& www) {
  CHECK(www.name == "www");
  CHECK(www.user == "www-data");
  CHECK(www.group == "www-data");
  CHECK(www.listen == "/run/php/php8.2-fpm.sock");
  CHECK(www.listen_owner == "www-data");
  CHECK(www.listen_group == "www-data");
  CHECK(www.pm == PmMode::dynamic);
  CHECK(www.pm_max_children == 5);
  CHECK(www.pm_start_servers == 2);
  CHECK(www.pm_min_spare_servers == 1);
  CHECK(www.pm_max_spare_servers == 3);
}

}  // namespace

TEST_CASE("config: stock www.conf loads cleanly") {
  std::string path = fixture("www.conf").string();
  LoadResult result = load_config(path);
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(result.warnings.empty());
  REQUIRE(result.config->pools.size() == 1);
  check_stock_www(result.config->pools[0]);
}

TEST_CASE("config: stock php-fpm.conf with its pool.d include loads cleanly") {
  ScratchDir dir;
  std::string pool_file = dir.write("pool.d/www.conf", read_text(fixture("www.conf")));
  std::string main_text = read_text(fixture("php-fpm.conf"));
  REQUIRE(main_text.find(kStockPoolDir) != std::string::npos);
  std::string main =
      dir.write("php-fpm.conf", replace_all(main_text, kStockPoolDir, dir / "pool.d"));

  LoadResult result = load_config(main);
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(result.warnings.empty());
  CHECK(result.config->global.pid == "/run/php/php8.2-fpm.pid");
  CHECK(result.config->global.error_log == "/var/log/php8.2-fpm.log");
  CHECK(result.config->global.daemonize);
  REQUIRE(result.config->pools.size() == 1);
  check_stock_www(result.config->pools[0]);
}

TEST_CASE("config: every commented-out example of the stock files loads with warnings only") {
  ScopedEnv hostname("HOSTNAME", "stockhost");
  ScratchDir dir;
  std::string pool_text = read_text(fixture("www.conf"));
  std::set<int> pool_lines = uncomment_examples(pool_text);
  CHECK(pool_lines.size() == 43);
  std::string pool_file = dir.write("pool.d/www.conf", pool_text);
  std::string main_text =
      replace_all(read_text(fixture("php-fpm.conf")), kStockPoolDir, dir / "pool.d");
  std::set<int> main_lines = uncomment_examples(main_text);
  CHECK(main_lines.size() == 15);
  std::string main = dir.write("php-fpm.conf", main_text);

  LoadResult result = load_config(main);
  INFO(dump(result));
  REQUIRE(result.ok());
  for (const Diagnostic& warning : result.warnings) {
    INFO(warning.str());
    const std::set<int>& lines = warning.file == main ? main_lines : pool_lines;
    CHECK(lines.count(warning.line) == 1);
  }
  // One warning per ignored example, none for the honoured ones (syslog.*,
  // log_limit, log_buffering, prefix, listen.acl_*, access.suppress_path[],
  // decorate_workers_output are honoured).
  CHECK(result.warnings.size() == 19);

  const PoolConfig& www = result.config->pools.at(0);
  check_stock_www(www);
  CHECK(www.listen_backlog == 511);
  CHECK(www.listen_mode == "0660");
  CHECK(www.listen_allowed_clients == std::vector<std::string>{"127.0.0.1"});
  CHECK(www.pm_max_spawn_rate == 32);
  CHECK(www.pm_process_idle_timeout == 10s);
  CHECK(www.pm_max_requests == 500);
  CHECK(www.pm_status_path == "/status");
  CHECK(www.pm_status_listen == "127.0.0.1:9001");
  CHECK(www.ping_path == "/ping");
  CHECK(www.ping_response == "pong");
  CHECK(www.access_log == "log/www.access.log");
  CHECK(www.access_format == "%R - %u %t \"%m %r%Q%q\" %s %f %{milli}d %{kilo}M %C%%");
  CHECK(www.slowlog == "log/www.log.slow");
  CHECK(www.request_slowlog_timeout == 0s);
  CHECK(www.request_terminate_timeout == 0s);
  CHECK(www.rlimit_files == 1024);
  CHECK(www.catch_workers_output);
  CHECK_FALSE(www.clear_env);
  CHECK(www.env ==
        std::vector<std::pair<std::string, std::string>>{{"HOSTNAME", "stockhost"},
                                                         {"PATH", "/usr/local/bin:/usr/bin:/bin"},
                                                         {"TMP", "/tmp"},
                                                         {"TMPDIR", "/tmp"},
                                                         {"TEMP", "/tmp"}});
  const GlobalConfig& global = result.config->global;
  CHECK(global.log_level == "notice");
  CHECK(global.daemonize);
  CHECK(global.systemd_interval == 10s);
}

TEST_CASE("config: the installed php-fpm configuration loads, when php8.2-fpm is installed") {
  const std::string installed = "/etc/php/8.2/fpm/php-fpm.conf";
  if (!std::filesystem::exists(installed)) {
    WARN("php8.2-fpm is not installed; " << installed << " not checked");
    return;
  }
  LoadResult result = load_config(installed);
  INFO(dump(result));
  CHECK(result.errors.empty());
}
