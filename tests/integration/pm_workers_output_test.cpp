// catch_workers_output: what a page writes to stdout and stderr reaches the
// error log through the master, one line each, as php-fpm writes it
// (`[pool www] child PID said into stderr: "..."`), whether the log is a
// file or the master's stderr; without it, the output is dropped. The
// child's own log lines are never dressed up as worker output.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "support/pm_server.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

ConfigKeys catching_pool(const char* catch_output) {
  ConfigKeys pool = one_child_pool(loopback_endpoint(), 2);
  set_key(pool, "catch_workers_output", catch_output);
  return pool;
}

// The bytes php-fpm puts around a worker's line in the error log:
// `[01-Dec-2026 17:08:10] WARNING: [pool www] child PID said into STREAM: "..."`.
std::size_t piece_decoration(pid_t child, const std::string& stream) {
  return 32 + std::string("www").size() + std::to_string(child).size() + stream.size() + 29;
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

  // A line longer than log_limit (1024) is wrapped as php-fpm 8.2 does:
  // each piece a whole log line of 1023 bytes, its decoration included.
  std::string long_text(1500, 'x');
  fpm.get("/__test/say", long_text);
  CHECK(wait_until([&] { return fpm.log_count("said into stdout") == 3; }, 3s));
  const std::size_t piece = 1023 - piece_decoration(child, "stdout");
  CHECK(log_has(fpm, "said into stdout: \"" + std::string(piece, 'x') + "\""));
  CHECK(log_has(fpm, "said into stdout: \"" + std::string(1500 - piece, 'x') + "\""));
}

TEST_CASE("decorate_workers_output = no and log_limit: the page's lines as written and wrapped",
          "[pm][process]") {
  ConfigKeys pool = catching_pool("yes");
  set_key(pool, "decorate_workers_output", "no");
  TempDir logs("cppfpm-wo-");
  fs::path error_log = logs.path() / "error.log";
  PmServer fpm(pool, {{"error_log", error_log.string()}, {"log_limit", "600"}});
  REQUIRE(fpm.wait_children(1, 5s));
  fpm.get("/__test/say", "plain-line");
  fpm.get("/__test/say", std::string(1500, 'y'));
  // log_limit - 1 bytes a piece, nothing around them: 599 + 599 + 302.
  std::vector<std::string> want = {"plain-line", "err:plain-line", std::string(599, 'y'),
                                   std::string(599, 'y'), std::string(302, 'y')};
  auto has_all = [&] {
    std::string text = read_file(error_log);
    for (const auto& line : want)
      if (text.find("\n" + line + "\n") == std::string::npos) return false;
    return true;
  };
  INFO(read_file(error_log));
  CHECK(wait_until(has_all, 3s));
  CHECK(fpm.log_count("said into") == 0);
}

TEST_CASE("log_limit below php-fpm's 512 is refused", "[pm][process]") {
  TempDir dir("cppfpm-wo-");
  fs::path config = dir.path() / "cppfpm.conf";
  write_file(config, "[global]\nlog_limit = 100\n[www]\nlisten = 127.0.0.1:9\nuser = nobody\n");
  fs::path out = dir.path() / "out";
  CHECK(run_command({CPPFPM_BINARY, "-t", "-y", config.string()}, out, 10s) == 78);
  CHECK(read_file(out).find("log_limit = \"100\" must be at least 512") != std::string::npos);
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
