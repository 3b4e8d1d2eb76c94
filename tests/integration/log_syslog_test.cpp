// error_log = syslog, side by side with php-fpm8.2: both run in a private
// mount namespace (unshare -m, root) whose /dev/log is this test's unix
// datagram socket, so the test reads exactly what syslog(3) sends, without a
// syslog daemon and without touching the machine's /dev.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/net.h"
#include "support/pm_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Runs "$@" with /dev/log -> $1: a tmpfs over /dev holding bind mounts of
// every entry of the real /dev, and the symlink.
const char* const kWithDevLog = R"(set -e
sock=$1; shift
old=$(mktemp -d)
mount --bind /dev "$old"
mount -t tmpfs -o mode=0755 cppfpm-test-dev /dev
for e in "$old"/* "$old"/.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=/dev/${e##*/}
  if [ -L "$e" ]; then cp -P "$e" "$n"
  elif [ -d "$e" ]; then mkdir "$n"; mount --rbind "$e" "$n"
  else touch "$n"; mount --bind "$e" "$n"; fi
done
ln -s "$sock" /dev/log
exec "$@"
)";

bool can_unshare() {
  if (::geteuid() != 0) {
    WARN("not root: the syslog tests need unshare -m and are skipped");
    return false;
  }
  TempDir dir("cppfpm-unshare-");
  if (run_command({"unshare", "-m", "--propagation", "private", "true"}, dir.path() / "log", 10s) !=
      0) {
    WARN("unshare -m fails here: the syslog tests are skipped");
    return false;
  }
  return true;
}

// A unix datagram socket standing for /dev/log.
class DevLog {
 public:
  explicit DevLog(const fs::path& path) : path_(path) {
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("bind " + path.string() + " failed");
    fs::permissions(path, fs::perms::all);
  }
  const fs::path& path() const { return path_; }

  // The datagrams received so far, and until one contains `needle` or
  // `timeout` passes.
  const std::vector<std::string>& until(const std::string& needle, Millis timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!has(needle) && std::chrono::steady_clock::now() < deadline) {
      timeval tv{0, 50000};
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) got_.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return got_;
  }
  bool has(const std::string& needle) const {
    for (const auto& d : got_)
      if (d.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string all() const {
    std::string out;
    for (const auto& d : got_) out += d + "\n";
    return out;
  }

 private:
  fs::path path_;
  Fd fd_;
  std::vector<std::string> got_;
};

// "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE" split into its parts.
struct SyslogLine {
  int priority = -1;
  std::string ident;
  long pid = 0;
  std::string message;
};

std::vector<SyslogLine> parse(const std::vector<std::string>& datagrams) {
  static const std::regex shape(R"(^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^\[]+)\[(\d+)\]: (.*)$)");
  std::vector<SyslogLine> out;
  for (const auto& d : datagrams) {
    std::smatch m;
    if (std::regex_match(d, m, shape))
      out.push_back({std::stoi(m[1]), m[2], std::stol(m[3]), m[4]});
    else
      out.push_back({-1, {}, 0, d});
  }
  return out;
}

const SyslogLine* find(const std::vector<SyslogLine>& lines, const std::string& message) {
  for (const auto& l : lines)
    if (l.message == message) return &l;
  return nullptr;
}

std::vector<std::string> in_namespace(const fs::path& sock, std::vector<std::string> argv) {
  std::vector<std::string> out{"unshare",   "-m", "--propagation", "private", "sh", "-c",
                               kWithDevLog, "sh", sock.string()};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

TEST_CASE("error_log = syslog sends php-fpm's lines to syslog(3) with ident and facility",
          "[log][syslog][php]") {
  if (!can_unshare()) return;
  TempDir dir("cppfpm-syslog-");
  DevLog devlog(dir.path() / "log.sock");
  int port = free_loopback_port();
  fs::path config = dir.path() / "cppfpm.conf";
  write_file(config,
             "[global]\nerror_log = syslog\nsyslog.ident = fpm-test\n"
             "syslog.facility = local3\n[www]\nlisten = 127.0.0.1:" +
                 std::to_string(port) +
                 "\nuser = nobody\npm = static\npm.max_children = 1\n"
                 "session.save_handler = memory\ncatch_workers_output = yes\n");
  {
    Process fpm(in_namespace(devlog.path(), {CPPFPM_BINARY, "-F", "-y", config.string()}),
                dir.path() / "cppfpm.out");
    auto lines = parse(devlog.until("ready to handle connections", 10s));
    INFO(devlog.all() << fpm.log());
    const SyslogLine* ready = find(lines, "[NOTICE] ready to handle connections");
    REQUIRE(ready != nullptr);
    CHECK(ready->priority == (19 << 3 | 5));  // LOG_LOCAL3 | LOG_NOTICE
    CHECK(ready->ident == "fpm-test");
    CHECK(ready->pid == fpm.pid());
    CHECK(fpm.log().find("ready to handle") == std::string::npos);  // not on stderr
    // A child's line: SIGKILL it and the master says so at WARNING.
    REQUIRE(wait_until([&] { return fpm.children().size() == 1; }, 5s));
    pid_t child = fpm.children().front();
    ::kill(child, SIGKILL);
    std::string killed =
        "[WARNING] [pool www] child " + std::to_string(child) + " exited on signal";
    lines = parse(devlog.until(killed, 5s));
    bool warned = false;
    for (const auto& l : lines)
      if (l.message.rfind(killed, 0) == 0) warned = l.priority == (19 << 3 | 4);
    CHECK(warned);
    CHECK_FALSE(fs::exists(dir.path() / "syslog"));
  }

  if (!fs::exists("/usr/sbin/php-fpm8.2")) {
    WARN("php-fpm8.2 is not installed: the php-fpm side of this test is skipped");
    return;
  }
  DevLog php_log(dir.path() / "php-log.sock");
  int php_port = free_loopback_port();
  fs::path php_config = dir.path() / "php-fpm.conf";
  write_file(php_config,
             "[global]\nerror_log = syslog\npid = " + (dir.path() / "php.pid").string() +
                 "\n[www]\nlisten = 127.0.0.1:" + std::to_string(php_port) +
                 "\nuser = nobody\npm = static\npm.max_children = 1\n");
  Process php(
      in_namespace(php_log.path(), {"/usr/sbin/php-fpm8.2", "-n", "-F", "-y", php_config.string()}),
      dir.path() / "php.out");
  auto theirs = parse(php_log.until("ready to handle connections", 10s));
  INFO(php_log.all());
  const SyslogLine* ready = find(theirs, "[NOTICE] ready to handle connections");
  REQUIRE(ready != nullptr);
  CHECK(ready->priority == (3 << 3 | 5));  // php-fpm's default: LOG_DAEMON | LOG_NOTICE
  CHECK(ready->pid == php.pid());
}

TEST_CASE("syslog.facility takes php-fpm's names and rejects others", "[log][syslog]") {
  TempDir dir("cppfpm-syslog-check-");
  fs::path config = dir.path() / "cppfpm.conf";
  write_file(config,
             "[global]\nerror_log = syslog\nsyslog.facility = local9\n[www]\nlisten = "
             "127.0.0.1:9\nuser = nobody\n");
  fs::path out = dir.path() / "out";
  CHECK(run_command({CPPFPM_BINARY, "-t", "-y", config.string()}, out, 10s) == 78);
  CHECK(read_file(out).find("syslog.facility = \"local9\" is not a syslog facility") !=
        std::string::npos);
}

TEST_CASE("error_log = syslog: long lines cut and worker lines wrapped with \"[LEVEL] \" counted",
          "[log][syslog][php]") {
  if (!can_unshare()) return;
  // php-fpm 8.2 counts syslog's "[NOTICE] ", not the file's time stamp,
  // against log_limit: a line of its own of 2048 bytes or more becomes a
  // message of log_limit - 1 bytes ending in "...". It sends no worker
  // output to syslog (its stderr gets it, which its daemon has on
  // /dev/null); cppfpm does, in pieces of at most log_limit - 1 bytes
  // counted the same way, "[WARNING] " included.
  TempDir dir("cppfpm-syslog-limit-");
  const std::string long_pool = "[" + std::string(2100, 'p') +
                                "]\nuser = nobody\npm = dynamic\npm.max_children = 4\n"
                                "pm.min_spare_servers = 1\npm.max_spare_servers = 3\n";
  auto first_with = [](const std::vector<SyslogLine>& lines, const std::string& start) {
    for (const auto& l : lines)
      if (l.message.rfind(start, 0) == 0) return l.message;
    return std::string();
  };

  DevLog devlog(dir.path() / "log.sock");
  int port = free_loopback_port();
  fs::path config = dir.path() / "cppfpm.conf";
  write_file(config, "[global]\nerror_log = syslog\nlog_limit = 1024\n" + long_pool +
                         "listen = 127.0.0.1:" + std::to_string(free_loopback_port()) +
                         "\nsession.save_handler = memory\n[www]\nuser = nobody\nlisten = "
                         "127.0.0.1:" +
                         std::to_string(port) +
                         "\npm = static\npm.max_children = 1\ncatch_workers_output = yes\n"
                         "session.save_handler = memory\n");
  Process fpm(in_namespace(devlog.path(), {CPPFPM_BINARY, "-F", "-y", config.string()}),
              dir.path() / "cppfpm.out", ProcessOptions{{{"CPPFPM_TEST_PAGES", "1"}}, {}, true});
  auto lines = parse(devlog.until("ready to handle connections", 10s));
  const std::string ours = first_with(lines, "[NOTICE] [pool ppp");
  INFO(ours.substr(0, 100) << " ... " << ours.size() << " bytes");
  CHECK(ours.size() == 1023);
  CHECK(ours.substr(ours.size() - 4) == "p...");

  // A page's 1500-byte line through catch_workers_output.
  REQUIRE(fpm.wait_for_port(port, 5s));
  REQUIRE(wait_until([&] { return fpm.children().size() >= 3; }, 5s));
  REQUIRE(pm_get(Endpoint{"127.0.0.1", port, {}}, "/__test/say", std::string(1500, 'x')).body ==
          "said\n");
  std::string said;
  std::vector<std::size_t> sizes;
  wait_until(
      [&] {
        said.clear();
        sizes.clear();
        // Reads what arrives for 100 ms (no datagram holds this needle).
        for (const auto& l : parse(devlog.until("\x01(read on)", 100ms))) {
          auto at = l.message.find(" said into stdout: \"");
          if (at == std::string::npos || l.message.rfind("[WARNING] [pool www] ", 0) != 0) continue;
          sizes.push_back(l.message.size());
          said += l.message.substr(at + 20, l.message.size() - at - 21);
        }
        return said.size() >= 1500;
      },
      5s);
  INFO(devlog.all().substr(0, 4000));
  CHECK(said == std::string(1500, 'x'));
  REQUIRE(sizes.size() == 2);
  CHECK(sizes[0] == 1023);  // "[WARNING] [pool www] child N said into stdout: \"x...x\""
  CHECK(sizes[1] < 1023);
  fpm.stop(SIGQUIT);

  if (!fs::exists("/usr/sbin/php-fpm8.2")) {
    WARN("php-fpm8.2 is not installed: the php-fpm side of this test is skipped");
    return;
  }
  DevLog php_log(dir.path() / "php-log.sock");
  fs::path php_config = dir.path() / "php-fpm.conf";
  write_file(php_config, "[global]\nerror_log = syslog\nlog_limit = 1024\npid = " +
                             (dir.path() / "php.pid").string() + "\n" + long_pool +
                             "listen = 127.0.0.1:" + std::to_string(free_loopback_port()) + "\n");
  Process php(
      in_namespace(php_log.path(), {"/usr/sbin/php-fpm8.2", "-n", "-F", "-y", php_config.string()}),
      dir.path() / "php.out");
  auto theirs = parse(php_log.until("ready to handle connections", 10s));
  CHECK(first_with(theirs, "[NOTICE] [pool ppp") == ours);
}
