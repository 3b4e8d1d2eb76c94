// php-fpm 8.2's command line, side by side with php-fpm8.2 where it is
// installed (DESIGN.md "Command line"). Servers listen on loopback.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>

#include "support/cppfpm.h"
#include "support/net.h"
#include "support/pm_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;

namespace {

// php-fpm8.2 when installed; "" (after a WARN) when not.
std::string php_fpm() {
  auto path = find_program("php-fpm8.2");
  if (std::filesystem::exists(path)) return path.string();
  WARN("php-fpm8.2 is not installed: the side-by-side comparison is skipped");
  return {};
}

// Runs `argv` to completion; exit code and output (stdout and stderr).
CommandOutput run(const std::vector<std::string>& argv, const TempDir& dir,
                  const std::string& name) {
  auto log = dir / (name + ".log");
  CommandOutput out;
  out.exit_code = run_command(argv, log, 20s);
  out.output = read_file(log);
  return out;
}

// php-fpm's lines without their "[01-Dec-2026 15:31:44] " timestamp.
std::string without_timestamps(const std::string& text) {
  return std::regex_replace(text, std::regex(R"(\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] )"), "");
}

// A pool both php-fpm and cppfpm accept.
std::string plain_pool(int port, const std::string& extra = "") {
  return "[global]\n[www]\nlisten = 127.0.0.1:" + std::to_string(port) +
         "\npm = static\npm.max_children = 1\n" + extra;
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

// logrotate's way: mv the daemon's error log away and send USR1; the
// daemon's fd 2 is then the new file, as php-fpm's is, not the moved one.
void rotate_and_check_stderr(pid_t daemon, const std::filesystem::path& error_log) {
  auto moved = error_log.string() + ".1";
  std::filesystem::rename(error_log, moved);
  ::kill(daemon, SIGUSR1);
  bool reopened = wait_until(
      [&] {
        return std::filesystem::exists(error_log) &&
               read_file(error_log).find("error log file re-opened") != std::string::npos;
      },
      5s);
  CHECK(reopened);
  auto fd2 = std::filesystem::read_symlink("/proc/" + std::to_string(daemon) + "/fd/2").string();
  INFO("fd 2 after USR1: " << fd2);
  CHECK(fd2 == error_log.string());
}

}  // namespace

TEST_CASE("command line: an unknown option prints the usage and exits 64, as php-fpm8.2",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  auto ours = run({CPPFPM_BINARY, "--no-such-option"}, dir, "ours");
  INFO(ours.output);
  CHECK(ours.exit_code == 64);
  CHECK(ours.output.find("Usage: cppfpm [-n] [-e] [-h] [-i] [-m] [-v] [-t]") != std::string::npos);
  auto help = run({CPPFPM_BINARY, "-h"}, dir, "help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("-R, --allow-to-run-as-root") != std::string::npos);
  if (auto fpm = php_fpm(); !fpm.empty()) {
    auto theirs = run({fpm, "--no-such-option"}, dir, "theirs");
    CHECK(theirs.exit_code == ours.exit_code);
    CHECK(run({fpm, "-h"}, dir, "theirs-help").exit_code == help.exit_code);
  }
}

TEST_CASE("command line: no -y and no /etc/cppfpm/cppfpm.conf fails as php-fpm, exit 78",
          "[config][command_line]") {
  if (std::filesystem::exists("/etc/cppfpm/cppfpm.conf")) {
    WARN("/etc/cppfpm/cppfpm.conf exists here: skipped");
    return;
  }
  TempDir dir("cppfpm-cli-");
  const std::string expected =
      "ERROR: failed to open configuration file '/etc/cppfpm/cppfpm.conf': No such file or "
      "directory (2)\n"
      "ERROR: failed to load configuration file '/etc/cppfpm/cppfpm.conf'\n";
  for (const char* mode : {"-t", "-F"}) {
    auto out = run({CPPFPM_BINARY, "-R", mode}, dir, std::string("ours") + mode);
    INFO(mode << "\n" << out.output);
    CHECK(out.exit_code == 78);
    CHECK(without_timestamps(out.output) == expected);
  }
  // php-fpm's words for the same failure, on a file that does not exist.
  if (auto fpm = php_fpm(); !fpm.empty()) {
    auto missing = (dir / "missing.conf").string();
    auto theirs = run({fpm, "-R", "-t", "-y", missing}, dir, "theirs");
    auto ours = run({CPPFPM_BINARY, "-R", "-t", "-y", missing}, dir, "ours-missing");
    INFO(theirs.output);
    CHECK(theirs.exit_code == ours.exit_code);
    CHECK(without_timestamps(theirs.output).rfind(without_timestamps(ours.output), 0) == 0);
  }
}

TEST_CASE("command line: a root master refuses a pool without user unless -R, as php-fpm8.2",
          "[config][command_line]") {
  if (::geteuid() != 0) {
    WARN("not root: skipped");
    return;
  }
  TempDir dir("cppfpm-cli-");
  auto conf = dir / "www.conf";
  write_file(conf, plain_pool(free_loopback_port()));
  auto refused = run({CPPFPM_BINARY, "-t", "-y", conf.string()}, dir, "refused");
  INFO(refused.output);
  CHECK(refused.exit_code == 78);
  CHECK(without_timestamps(refused.output) ==
        "ALERT: [pool www] user has not been defined\n"
        "ERROR: failed to post process the configuration\n");
  // It does not start either.
  auto start = run({CPPFPM_BINARY, "-F", "-y", conf.string()}, dir, "start");
  CHECK(start.exit_code == 78);
  CHECK(run({CPPFPM_BINARY, "-R", "-t", "-y", conf.string()}, dir, "allowed").exit_code == 0);
  CHECK(run({CPPFPM_BINARY, "--allow-to-run-as-root", "-t", "-y", conf.string()}, dir, "long")
            .exit_code == 0);
  if (auto fpm = php_fpm(); !fpm.empty()) {
    auto theirs = run({fpm, "-t", "-y", conf.string()}, dir, "theirs");
    INFO(theirs.output);
    CHECK(theirs.exit_code == 78);
    CHECK(without_timestamps(theirs.output).rfind(without_timestamps(refused.output), 0) == 0);
    CHECK(run({fpm, "-R", "-t", "-y", conf.string()}, dir, "theirs-R").exit_code == 0);
  }
}

TEST_CASE("command line: not root, user and group are ignored with php-fpm's notice",
          "[config][command_line]") {
  auto setpriv = find_program("setpriv");
  if (::geteuid() != 0 || !std::filesystem::exists(setpriv)) {
    WARN("needs root and setpriv to start cppfpm as nobody: skipped");
    return;
  }
  TempDir dir("cppfpm-cli-");
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                      std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                      std::filesystem::perms::others_exec);
  int port = free_loopback_port();
  auto conf = dir / "www.conf";
  write_file(conf, plain_pool(port,
                              "user = www-data\ngroup = www-data\n"
                              "session.save_handler = memory\n"));
  Process fpm({setpriv.string(), "--reuid=nobody", "--regid=nogroup", "--clear-groups",
               CPPFPM_BINARY, "-F", "-y", conf.string()},
              dir / "fpm.log");
  INFO(fpm.log());
  REQUIRE(fpm.wait_for_port(port, 10s));
  REQUIRE(wait_until([&] { return fpm.log().find("ready to handle") != std::string::npos; }, 5s));
  const std::string log = fpm.log();
  CHECK(
      log.find("NOTICE: [pool www] 'user' directive is ignored when FPM is not running as root") !=
      std::string::npos);
  CHECK(log.find("NOTICE: [pool www] 'group' directive is ignored when FPM is not running as "
                 "root") != std::string::npos);
  fpm.stop();
}

TEST_CASE("command line: -p resolves relative paths and the default error log, -g the pid file",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  std::filesystem::create_directories(dir / "log");
  std::filesystem::create_directories(dir / "run");
  int port = free_loopback_port();
  auto conf = dir / "www.conf";
  write_file(conf,
             plain_pool(port, "access.log = log/access.log\nsession.save_handler = memory\n"));
  Process fpm({CPPFPM_BINARY, "-R", "-F", "-y", conf.string(), "-p", dir.path().string(), "-g",
               "run/cppfpm.pid"},
              dir / "stderr.log");
  INFO(fpm.log());
  REQUIRE(fpm.wait_for_port(port, 10s));
  auto pid_file = dir / "run" / "cppfpm.pid";
  REQUIRE(wait_until([&] { return std::filesystem::exists(pid_file); }, 5s));
  // The pid without a newline, as php-fpm writes it.
  CHECK(read_file(pid_file) == std::to_string(fpm.pid()));
  CHECK(wait_until(
      [&] {
        return read_file(dir / "log" / "cppfpm.log").find("ready to handle") != std::string::npos;
      },
      5s));
  CHECK(std::filesystem::exists(dir / "log" / "access.log"));
  fpm.stop();
  auto missing = run(
      {CPPFPM_BINARY, "-R", "-t", "-y", conf.string(), "-p", (dir / "nope").string()}, dir, "nope");
  CHECK(missing.exit_code == 78);
  CHECK(missing.output.find("ERROR: the global prefix '" + (dir / "nope").string() +
                            "' does not exist or is not a directory") != std::string::npos);
}

TEST_CASE("command line: -tt dumps the parsed config as NOTICE lines in php-fpm8.2's layout",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  auto conf = dir / "www.conf";
  write_file(conf, plain_pool(free_loopback_port()));
  auto ours = run({CPPFPM_BINARY, "-R", "-tt", "-y", conf.string(), "-d", "session.name=CLISESS",
                   "-d", "memory_limit=1G", "-c", "/etc/php.ini", "-n", "-e"},
                  dir, "ours");
  INFO(ours.output);
  CHECK(ours.exit_code == 0);
  for (const char* line : {"NOTICE: [global]", "NOTICE: [www]", "NOTICE: \tpm = static",
                           "NOTICE: \tpm.max_children = 1", "NOTICE: \tuser = undefined",
                           "NOTICE:  ", "NOTICE: \tsession.name = CLISESS",
                           "NOTICE: -c is ignored: compiled pages read no php.ini",
                           "NOTICE: -n is ignored: compiled pages read no php.ini"})
    CHECK(has_line(without_timestamps(ours.output), line));
  CHECK(ours.output.find("WARNING: -d memory_limit is ignored") != std::string::npos);
  CHECK(ours.output.find("NOTICE: configuration file " + conf.string() + " test is successful") !=
        std::string::npos);
  if (auto fpm = php_fpm(); !fpm.empty()) {
    auto theirs = run({fpm, "-R", "-tt", "-y", conf.string()}, dir, "theirs");
    std::string plain = without_timestamps(theirs.output);
    INFO(plain);
    CHECK(theirs.exit_code == 0);
    for (const char* line :
         {"NOTICE: [global]", "NOTICE: [www]", "NOTICE: \tpm = static",
          "NOTICE: \tpm.max_children = 1", "NOTICE: \tuser = undefined", "NOTICE:  "})
      CHECK(has_line(plain, line));
  }
}

TEST_CASE("command line: -t lines carry php-fpm8.2's time stamp and its pm.start_servers notice",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  auto conf = dir / "www.conf";
  write_file(conf, "[global]\n[www]\nlisten = 127.0.0.1:" + std::to_string(free_loopback_port()) +
                       "\npm = dynamic\npm.max_children = 5\npm.min_spare_servers = 1\n"
                       "pm.max_spare_servers = 3\n");
  const std::regex stamped(R"(\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] NOTICE: )");
  auto check = [&](const CommandOutput& out) {
    INFO(out.output);
    CHECK(out.exit_code == 0);
    std::string plain = without_timestamps(out.output);
    CHECK(has_line(plain, "NOTICE: [pool www] pm.start_servers is not set. It's been set to 2."));
    CHECK(has_line(plain, "NOTICE: configuration file " + conf.string() + " test is successful"));
    // php-fpm's message ends with its own newline: an empty line follows.
    CHECK(out.output.ends_with(" test is successful\n\n"));
    std::istringstream in(out.output);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) CHECK(std::regex_search(line, stamped));
  };
  check(run({CPPFPM_BINARY, "-R", "-t", "-y", conf.string()}, dir, "ours"));
  if (auto fpm = php_fpm(); !fpm.empty())
    check(run({fpm, "-R", "-t", "-y", conf.string()}, dir, "theirs"));
}

TEST_CASE("command line: -i and -m print the build and its pages and exit 0",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  auto info = run({CPPFPM_BINARY, "-i"}, dir, "info");
  CHECK(info.exit_code == 0);
  CHECK(info.output.find("cppfpm Version => ") != std::string::npos);
  auto pages = run({CPPFPM_BINARY, "-m"}, dir, "pages");
  CHECK(pages.exit_code == 0);
  CHECK(has_line(pages.output, "[Compiled Pages]"));
  CHECK(has_line(pages.output, "/setSession"));
  CHECK(has_line(pages.output, "/testMySQL"));
}

TEST_CASE("command line: -D leaves fds 0 and 1 on /dev/null and points stderr at the error log",
          "[config][command_line][log]") {
  TempDir dir("cppfpm-cli-");
  int port = free_loopback_port();
  auto pid_file = dir / "cppfpm.pid";
  auto error_log = dir / "error.log";
  auto conf = dir / "www.conf";
  write_file(conf, "[global]\npid = " + pid_file.string() + "\nerror_log = " + error_log.string() +
                       "\n" + plain_pool(port, "session.save_handler = memory\n").substr(9));
  auto out = run({CPPFPM_BINARY, "-R", "-D", "-y", conf.string()}, dir, "daemon");
  INFO(out.output);
  REQUIRE(out.exit_code == 0);
  REQUIRE(wait_until([&] { return std::filesystem::exists(pid_file); }, 5s));
  pid_t daemon = std::stoi(read_file(pid_file));
  REQUIRE(daemon > 0);
  auto fd = [&](int n) {
    return std::filesystem::read_symlink("/proc/" + std::to_string(daemon) + "/fd/" +
                                         std::to_string(n))
        .string();
  };
  CHECK(fd(0) == "/dev/null");
  CHECK(fd(1) == "/dev/null");
  CHECK(fd(2) == error_log.string());
  CHECK(read_file(pid_file) == std::to_string(daemon));  // no newline
  // logrotate's mv + USR1: stderr follows the log to the new file.
  rotate_and_check_stderr(daemon, error_log);
  ::kill(daemon, SIGTERM);
  CHECK(wait_until([&] { return !pid_alive(daemon); }, 5s));
  // php-fpm's daemon on the same kind of config, for the record.
  if (auto fpm = php_fpm(); !fpm.empty()) {
    auto their_pid = dir / "php-fpm.pid";
    auto their_log = dir / "php-fpm.log";
    write_file(conf, "[global]\npid = " + their_pid.string() + "\nerror_log = " +
                         their_log.string() + "\n" + plain_pool(free_loopback_port()).substr(9));
    REQUIRE(run({fpm, "-R", "-D", "-y", conf.string()}, dir, "theirs").exit_code == 0);
    REQUIRE(wait_until([&] { return std::filesystem::exists(their_pid); }, 5s));
    daemon = std::stoi(read_file(their_pid));
    REQUIRE(daemon > 0);
    CHECK(fd(0) == "/dev/null");
    CHECK(fd(1) == "/dev/null");
    CHECK(fd(2) == their_log.string());
    CHECK(read_file(their_pid) == std::to_string(daemon));
    rotate_and_check_stderr(daemon, their_log);
    ::kill(daemon, SIGTERM);
    CHECK(wait_until([&] { return !pid_alive(daemon); }, 5s));
  }
}

TEST_CASE("command line: -F -O copies the error log's lines to stderr, as php-fpm's -O",
          "[config][command_line]") {
  TempDir dir("cppfpm-cli-");
  int port = free_loopback_port();
  auto error_log = dir / "error.log";
  auto conf = dir / "www.conf";
  write_file(conf, "[global]\nerror_log = " + error_log.string() + "\n" +
                       plain_pool(port, "session.save_handler = memory\n").substr(9));
  for (bool force : {false, true}) {
    std::vector<std::string> argv{CPPFPM_BINARY, "-R", "-F", "-y", conf.string()};
    if (force) argv.push_back("-O");
    Process fpm(argv, dir / (force ? "stderr-O.log" : "stderr.log"));
    REQUIRE(fpm.wait_for_port(port, 10s));
    REQUIRE(wait_until(
        [&] { return read_file(error_log).find("ready to handle") != std::string::npos; }, 5s));
    fpm.stop();
    INFO("-O " << force << ": " << fpm.log());
    // stderr is a file here, not a terminal: only -O copies the lines.
    CHECK((fpm.log().find("ready to handle connections") != std::string::npos) == force);
    std::filesystem::remove(error_log);
  }
}
