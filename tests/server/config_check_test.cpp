#include <catch2/catch.hpp>

#include <memory>
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

}  // namespace

TEST_CASE(
    "config check: at start, warnings, errors and the verdict go to stderr as -t prints them") {
  ScratchDir dir;
  std::string path = dir.write("faulty.conf", kFaulty);
  ConfigCheck check = check_config(path);
  CHECK_FALSE(check.config);
  std::ostringstream out;
  print_config_check(check, out);
  CHECK(out.str() == "WARNING: " + path + ":5: [pool www] unknown key 'bogus.key' is ignored\n" +
                         "WARNING: " + path +
                         ":7: [pool www] php_value[memory_limit] is ignored: PHP ini settings do "
                         "not apply to compiled "
                         "handlers\n" +
                         path +
                         ":6: expected 'name = value' or '[section]', found 'this is bad'\n" +
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

TEST_CASE("config check: a good file prints its warnings only; no file means the defaults") {
  ScratchDir dir;
  std::string path =
      dir.write("good.conf", "[global]\n[www]\nlisten = 127.0.0.1:9000\npm = static\n");
  ConfigCheck check = check_config(path);
  REQUIRE(check.config);
  std::ostringstream out;
  print_config_check(check, out);
  CHECK(out.str().empty());
  CHECK(check_config("").config);
}
