// issue 14: log rotation as logrotate does it (mv, then SIGUSR1 to the
// master) with children running as an unprivileged user. Every line written
// after the signal (master, children, access log, slowlog) reaches the new
// files, and the new error log starts with php-fpm 8.2's two notices.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>

#include "support/net.h"
#include "support/pm_server.h"

using namespace cppfpm::test;
namespace fs = std::filesystem;

namespace {

// A file's text, empty until it exists.
std::string text_of(const fs::path& path) {
  return fs::exists(path) ? read_file(path) : std::string();
}

// The error log's lines without their "[date time] " prefix.
std::vector<std::string> untimed_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto close = line.find("] ");
    out.push_back(close == std::string::npos ? line : line.substr(close + 2));
  }
  return out;
}

const std::vector<std::string> kReopenNotices = {"NOTICE: error log file re-opened",
                                                 "NOTICE: access log file re-opened"};

// The first lines php-fpm8.2 writes to its new error log after mv + USR1,
// children as nobody; empty when php-fpm8.2 is not installed.
std::vector<std::string> php_fpm_reopen_lines() {
  const fs::path binary = "/usr/sbin/php-fpm8.2";
  if (!fs::exists(binary)) return {};
  TempDir dir("cppfpm-php-rotate-");
  std::ofstream(dir / "fpm.conf") << "[global]\nerror_log = " << (dir / "error.log").string()
                                  << "\ndaemonize = no\n[www]\nuser = nobody\ngroup = nogroup\n"
                                  << "listen = 127.0.0.1:" << free_loopback_port()
                                  << "\npm = static\npm.max_children = 1\naccess.log = "
                                  << (dir / "access.log").string() << "\n";
  Process fpm({binary.string(), "-F", "-R", "-y", (dir / "fpm.conf").string()}, dir / "out.log");
  if (!wait_until([&] { return text_of(dir / "error.log").find("ready") != std::string::npos; },
                  5s))
    return {};
  fs::rename(dir / "error.log", dir / "error.log.1");
  fs::rename(dir / "access.log", dir / "access.log.1");
  fpm.signal(SIGUSR1);
  wait_until([&] { return untimed_lines(text_of(dir / "error.log")).size() >= 2; }, 3s);
  auto lines = untimed_lines(text_of(dir / "error.log"));
  fpm.stop(SIGQUIT);
  if (lines.size() > 2) lines.resize(2);
  return lines;
}

}  // namespace

TEST_CASE("log rotation: mv + SIGUSR1 with children as nobody loses no line",
          "[pm][signals][log]") {
  TempDir logs("cppfpm-rotate-");
  const auto access = logs / "access.log", errors = logs / "error.log", slow = logs / "slow.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "user", "nobody");
  set_key(pool, "group", "nogroup");
  set_key(pool, "access.log", access.string());
  set_key(pool, "access.format", "\"%m %r %s\"");
  set_key(pool, "slowlog", slow.string());
  set_key(pool, "request_slowlog_timeout", "1s");
  PmServer fpm(pool, {{"error_log", errors.string()}});
  REQUIRE(fpm.wait_children(2, 3s));
  auto before_children = fpm.children();

  REQUIRE(fpm.get("/setSession.php", "first=1").status == 200);
  REQUIRE(wait_until([&] { return text_of(access).find("first=1") != std::string::npos; }, 1s));
  fs::rename(access, logs / "access.log.1");
  fs::rename(errors, logs / "error.log.1");
  if (fs::exists(slow)) fs::rename(slow, logs / "slow.log.1");
  fpm.process().signal(SIGUSR1);

  REQUIRE(wait_until(
      [&] { return text_of(errors).find("access log file re-opened") != std::string::npos; }, 3s));
  auto lines = untimed_lines(text_of(errors));
  INFO("new error log:\n" << text_of(errors));
  REQUIRE(lines.size() >= 2);
  CHECK(std::vector<std::string>(lines.begin(), lines.begin() + 2) == kReopenNotices);
  // The children are replaced (as php-fpm 8.2 does), announced in the new log.
  REQUIRE(fpm.wait_replaced(before_children, 2, 5s));
  const std::string old_errors = text_of(logs / "error.log.1");
  const std::string old_access = text_of(logs / "access.log.1");

  for (int i = 0; i < 4; ++i)
    REQUIRE(fpm.get("/setSession.php", "second=" + std::to_string(i)).status == 200);
  REQUIRE(fpm.get("/__test/sleep", "ms=1600", 5s).status == 200);  // a slowlog entry
  CHECK(fpm.get("/no-such-page.php").status == 404);

  std::string now = text_of(access);
  INFO("access.log:\n" << now);
  CHECK(now.find("GET /setSession.php?second=0 200") != std::string::npos);
  CHECK(now.find("GET /setSession.php?second=3 200") != std::string::npos);
  CHECK(now.find("GET /no-such-page.php 404") != std::string::npos);
  CHECK(wait_until([&] { return text_of(slow).find("script_filename") != std::string::npos; }, 2s));
  // The child's own line about the slow request.
  CHECK(text_of(errors).find("executing too slow") != std::string::npos);
  for (pid_t child : fpm.children())
    CHECK(text_of(errors).find("child " + std::to_string(child) + " started") != std::string::npos);
  // The old files did not grow.
  CHECK(text_of(logs / "error.log.1") == old_errors);
  CHECK(text_of(logs / "access.log.1") == old_access);
  CHECK(old_access.find("second=") == std::string::npos);
  if (fs::exists(logs / "slow.log.1")) CHECK(text_of(logs / "slow.log.1").empty());

  auto php = php_fpm_reopen_lines();
  if (php.empty())
    WARN("php-fpm8.2 is not installed: the notices are not compared with it");
  else
    CHECK(php == kReopenNotices);
}
