// catch_workers_output: what a page writes to stdout and stderr reaches the
// error log through the master, one line each, as php-fpm writes it
// (`[pool www] child PID said into stderr: "..."`), whether the log is a
// file or the master's stderr; without it, the output is dropped. The
// child's own log lines are never dressed up as worker output.
#include <catch2/catch.hpp>

#include <regex>

#include "support/pm_server.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

ConfigKeys catching_pool(const char* catch_output) {
  ConfigKeys pool = one_child_pool(loopback_endpoint(), 2);
  set_key(pool, "catch_workers_output", catch_output);
  return pool;
}

bool log_has(const PmServer& fpm, const std::string& needle) {
  return fpm.log().find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("catch_workers_output = yes: a page's stdout and stderr reach the error log, decorated",
          "[pm][process]") {
  bool to_file = GENERATE(false, true);
  INFO("error_log to a file: " << to_file);
  TempDir logs("cppfpm-wo-");
  ConfigKeys global;
  if (to_file) set_key(global, "error_log", (logs.path() / "error.log").string());
  PmServer fpm(catching_pool("yes"), global);
  REQUIRE(fpm.wait_children(1, 5s));
  pid_t child = fpm.children().at(0);

  auto r = fpm.get("/__test/say", "hello-from-the-page");
  REQUIRE(r.body == "said\n");
  const std::string out =
      "[pool www] child " + std::to_string(child) + " said into stdout: \"hello-from-the-page\"";
  const std::string err = "[pool www] child " + std::to_string(child) +
                          " said into stderr: \"err:hello-from-the-page\"";
  REQUIRE(wait_until([&] { return log_has(fpm, out) && log_has(fpm, err); }, 3s));
  INFO("log:\n" << fpm.log());
  CHECK(std::regex_search(fpm.log(),
                          std::regex(R"(\] WARNING: \[pool www\] child \d+ said into stdout)")));
  // Nothing of it reached the FastCGI answer.
  CHECK(r.stdout_data.find("hello-from-the-page") == std::string::npos);
  // The child's own log lines stay undecorated: none is "said into".
  CHECK(fpm.log_count("said into") == 2);

  // A line longer than php-fpm's 1023 bytes arrives in pieces.
  std::string long_text(1500, 'x');
  fpm.get("/__test/say", long_text);
  CHECK(wait_until([&] { return fpm.log_count("said into stdout") == 3; }, 3s));
  CHECK(log_has(fpm, "said into stdout: \"" + std::string(1023, 'x') + "\""));
  CHECK(log_has(fpm, "said into stdout: \"" + std::string(477, 'x') + "\""));
}

TEST_CASE("catch_workers_output = no: a page's output is dropped", "[pm][process]") {
  PmServer fpm(catching_pool("no"));
  REQUIRE(fpm.wait_children(1, 5s));
  auto r = fpm.get("/__test/say", "nobody-hears-this");
  REQUIRE(r.body == "said\n");
  std::this_thread::sleep_for(300ms);
  INFO("log:\n" << fpm.log());
  CHECK(!log_has(fpm, "nobody-hears-this"));
  CHECK(r.stdout_data.find("nobody-hears-this") == std::string::npos);
}
