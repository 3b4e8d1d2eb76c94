#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "../pool/config_test_support.h"
#include "server/config_check.h"

using cppfpm::pool::test::ScratchDir;
using namespace cppfpm::server;

namespace {

// A pool file with two warnings (lines 5, 7) and one error (line 6).
const char* kFaulty =
    "[global]\n"
    "[www]\n"
    "listen = 127.0.0.1:9000\n"
    "pm = static\n"
    "bogus.key = 1\n"
    "this is bad\n"
    "php_value[memory_limit] = 1G\n";

// Captures what the default logger writes, one "level: text" per line.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l: %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// print_config_check's lines without php-fpm's time stamp, which each has.
std::string unstamped(const std::string& text) {
  static const std::regex stamp(R"((^|\n)\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] )");
  std::string out = std::regex_replace(text, stamp, "$1");
  // Every line had one.
  std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  CHECK(text.size() - out.size() == lines * 23);
  return out;
}

}  // namespace

TEST_CASE(
    "config check: at start, warnings, errors and the verdict go to stderr as -t prints them") {
  ScratchDir dir;
  std::string path = dir.write("faulty.conf", kFaulty);
  ConfigCheck check = check_config(path);
  CHECK_FALSE(check.config);
  std::ostringstream out;
  print_config_check(check, out);
  CHECK(unstamped(out.str()) ==
        "WARNING: " + path + ":5: [pool www] unknown key 'bogus.key' is ignored\n" +
            "WARNING: " + path +
            ":7: [pool www] php_value[memory_limit] is ignored: PHP ini settings do "
            "not apply to compiled "
            "handlers\n" +
            "ERROR: " + path + ":6: expected 'name = value' or '[section]', found 'this is bad'\n" +
            "ERROR: failed to load configuration file '" + path + "'\n");
}

TEST_CASE("config check: on reload the same findings are logged at their level, without a prefix") {
  ScratchDir dir;
  std::string path = dir.write("faulty.conf", kFaulty);
  LogCapture log;
  log_config_check(check_config(path));
  CHECK(log.text() ==
        "warning: " + path + ":5: [pool www] unknown key 'bogus.key' is ignored\n" +
            "warning: " + path +
            ":7: [pool www] php_value[memory_limit] is ignored: PHP ini settings do not apply to "
            "compiled handlers\n" +
            "error: " + path + ":6: expected 'name = value' or '[section]', found 'this is bad'\n" +
            "error: failed to load configuration file '" + path + "'\n");
}

TEST_CASE("config check: an unknown user is an error at the pool file, line 0") {
  ScratchDir dir;
  std::string path = dir.write(
      "user.conf",
      "[global]\n[www]\nlisten = 127.0.0.1:9000\npm = static\nuser = nosuchuser-cppfpm\n");
  ConfigCheck check = check_config(path);
  CHECK_FALSE(check.config);
  REQUIRE(check.errors.size() == 1);
  CHECK(check.errors[0].str() ==
        path + ":0: [pool www] cannot get uid for user 'nosuchuser-cppfpm' (user)");
}

TEST_CASE(
    "config check: listen.owner and listen.group must exist and numbers are taken as they are") {
  ScratchDir dir;
  auto check_with = [&](const std::string& keys) {
    std::string path = dir.write(
        "ids.conf", "[global]\n[www]\nlisten = " + (dir / "s.sock") + "\npm = static\n" + keys);
    ConfigCheck check = check_config(path);
    return check.errors.empty() ? std::string() : check.errors[0].message;
  };
  CHECK(check_with("listen.owner = nosuchuser-cppfpm\n") ==
        "[pool www] cannot get uid for user 'nosuchuser-cppfpm' (listen.owner)");
  CHECK(check_with("listen.group = nosuchgroup-cppfpm\n") ==
        "[pool www] cannot get gid for group 'nosuchgroup-cppfpm' (listen.group)");
  // php-fpm takes digits as a uid or gid, whether /etc/passwd knows it or not.
  CHECK(check_with("user = 65534\ngroup = 65534\nlisten.owner = 4242\nlisten.group = 0\n").empty());
  CHECK(check_with("listen.owner = root\nlisten.group = root\n").empty());
}

TEST_CASE("config check: a good file prints its warnings only") {
  ScratchDir dir;
  std::string path =
      dir.write("good.conf", "[global]\n[www]\nlisten = 127.0.0.1:9000\npm = static\n");
  ConfigCheck check = check_config(path);
  REQUIRE(check.config);
  std::ostringstream out;
  print_config_check(check, out);
  CHECK(out.str().empty());
}

TEST_CASE("config check: a missing file fails in php-fpm's words; there are no built-in pools") {
  ScratchDir dir;
  std::string path = dir / "missing.conf";
  for (const std::string& missing : {path, std::string()}) {
    ConfigCheck check = check_config(missing);
    CHECK_FALSE(check.config);
    std::ostringstream out;
    print_config_check(check, out);
    CHECK(unstamped(out.str()) == "ERROR: failed to open configuration file '" + missing +
                                      "': No such file or directory (2)\n" +
                                      "ERROR: failed to load configuration file '" + missing +
                                      "'\n");
  }
}

namespace {
const char* kNoUser = "[global]\n[www]\nlisten = 127.0.0.1:9000\npm = static\n";
}

TEST_CASE("config check: a root master refuses a pool without user unless -R, as php-fpm") {
  ScratchDir dir;
  std::string path = dir.write("www.conf", kNoUser);
  StartSettings root;
  root.as_root = true;
  ConfigCheck refused = check_config(path, root);
  CHECK_FALSE(refused.config);
  std::ostringstream out;
  print_config_check(refused, out);
  CHECK(unstamped(out.str()) ==
        "ALERT: [pool www] user has not been defined\n"
        "ERROR: failed to post process the configuration\n");
  root.allow_root = true;
  CHECK(check_config(path, root).config);
  CHECK(check_config(path, StartSettings{}).config);  // not root: nothing to refuse
  std::string with_user = dir.write("user.conf", std::string(kNoUser) + "user = nobody\n");
  root.allow_root = false;
  CHECK(check_config(with_user, root).config);
}

TEST_CASE("config check: -d sets a setting for every pool, and a pool's own line wins") {
  ScratchDir dir;
  std::string path = dir.write("two.conf",
                               "[a]\nlisten = 127.0.0.1:9000\n"
                               "[b]\nlisten = 127.0.0.1:9001\nsession.name = MINE\n");
  StartSettings settings;
  settings.defines = {{"session.name", "FROMCLI"}, {"memory_limit", "1G"}};
  ConfigCheck check = check_config(path, settings);
  REQUIRE(check.config);
  CHECK(check.config->pools[0].session.name == "FROMCLI");
  CHECK(check.config->pools[1].session.name == "MINE");
  REQUIRE(check.findings.size() == 1);
  CHECK(check.findings[0].level == "WARNING");
  CHECK(check.findings[0].text.rfind("-d memory_limit is ignored", 0) == 0);
}

TEST_CASE("config check: -p must be a directory, and relative paths resolve against it") {
  ScratchDir dir;
  std::string path = dir.write("p.conf",
                               "[global]\npid = run/fpm.pid\n[www]\nlisten = run/www.sock\n"
                               "access.log = log/access.log\nslowlog = /var/slow.log\n");
  const std::string base = std::filesystem::path(path).parent_path().string();
  StartSettings settings;
  settings.prefix = base + "/nope";
  ConfigCheck bad = check_config(path, settings);
  CHECK_FALSE(bad.config);
  std::ostringstream out;
  print_config_check(bad, out);
  CHECK(unstamped(out.str()).rfind("ERROR: the global prefix '" + settings.prefix +
                                       "' does not exist or is not a directory\n",
                                   0) == 0);
  settings.prefix = base;
  ConfigCheck good = check_config(path, settings);
  REQUIRE(good.config);
  CHECK(good.config->global.pid == base + "/run/fpm.pid");
  CHECK(good.config->global.error_log == base + "/log/cppfpm.log");
  CHECK(good.config->pools[0].listen == base + "/run/www.sock");
  CHECK(good.config->pools[0].access_log == base + "/log/access.log");
  CHECK(good.config->pools[0].slowlog == "/var/slow.log");
}
