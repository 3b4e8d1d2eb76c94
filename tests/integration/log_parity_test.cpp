// The error log, access log and slowlog files as an operator meets them,
// side by side with Debian's php-fpm8.2 on the same config: the modes the
// files are created with, and how a long line of the server's own is cut to
// log_limit. Without php-fpm8.2 the php-fpm halves are skipped with a WARN
// and cppfpm is checked against what php-fpm 8.2 was measured to do.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/net.h"
#include "support/php.h"
#include "support/pm_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool is_php(const std::string& binary) {
  return binary == kPhpFpm;
}

// A file's text, empty until it exists.
std::string text_of(const fs::path& path) {
  return fs::exists(path) ? read_file(path) : std::string();
}

// `binary` (php-fpm8.2 or cppfpm) -R -F on `pools` under a [global] that
// logs to DIR/NAME.log; ready once the log says so.
class Fpm {
 public:
  Fpm(const std::string& binary, const fs::path& dir, const std::string& name,
      const std::string& global_extra, const std::string& pools)
      : log_(dir / (name + ".log")) {
    fs::path conf = dir / (name + ".conf");
    write_file(conf, "[global]\npid = " + (dir / (name + ".pid")).string() +
                         "\nerror_log = " + log_.string() + "\n" + global_extra + pools);
    std::vector<std::string> argv{binary, "-R", "-F", "-y", conf.string()};
    if (is_php(binary)) argv.insert(argv.begin() + 1, "-n");  // no php.ini
    process_ = std::make_unique<Process>(argv, dir / (name + ".out"));
    if (!wait_until([&] { return log().find("ready to handle connections") != std::string::npos; },
                    10s))
      throw std::runtime_error(binary + " did not start:\n" + process_->log() + log());
  }
  std::string log() const { return text_of(log_); }
  const fs::path& log_path() const { return log_; }
  Process& process() { return *process_; }

 private:
  fs::path log_;
  std::unique_ptr<Process> process_;
};

// A pool section both servers accept; cppfpm keeps its sessions in memory.
std::string pool_section(const std::string& binary, const std::string& name,
                         const std::string& keys) {
  return "[" + name + "]\nlisten = 127.0.0.1:" + std::to_string(free_loopback_port()) + "\n" +
         keys + (is_php(binary) ? "" : "session.save_handler = memory\n");
}

mode_t file_mode(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// The log's lines, "[01-Dec-2026 15:31:44] " cut off each.
std::vector<std::string> untimed_lines(const std::string& text) {
  static const std::regex stamp(R"(^\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] )");
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(std::regex_replace(line, stamp, ""));
  return out;
}

// The first line of `text` that starts with `start` (time stamp aside), or "".
std::string line_starting(const std::string& text, const std::string& start) {
  for (const auto& line : untimed_lines(text))
    if (line.rfind(start, 0) == 0) return line;
  return {};
}

std::string describe_modes(const std::vector<fs::path>& files) {
  std::ostringstream out;
  for (const auto& f : files)
    out << f.filename().string() << " "
        << (fs::exists(f) ? std::to_string(file_mode(f)) : std::string("(absent)")) << "; ";
  return out.str();
}

}  // namespace

TEST_CASE("log files: error log, access log and slowlog are created 0600, as php-fpm8.2's",
          "[log][php]") {
  ::umask(022);  // the same for both servers, and one that would show 0644 or 0640
  TempDir dir("cppfpm-log-modes-");
  // Mode of each file the server `binary` creates: error log, access log,
  // slowlog of a pool with request_slowlog_timeout, slowlog of one without.
  auto modes = [&](const std::string& binary, const std::string& name) {
    std::vector<fs::path> files = {dir / (name + ".log"), dir / (name + "-access.log"),
                                   dir / (name + "-slow.log"), dir / (name + "-unused-slow.log")};
    Fpm fpm(
        binary, dir.path(), name, "",
        pool_section(binary, "www",
                     "pm = static\npm.max_children = 1\naccess.log = " + files[1].string() +
                         "\nslowlog = " + files[2].string() + "\nrequest_slowlog_timeout = 5s\n") +
            pool_section(
                binary, "other",
                "pm = static\npm.max_children = 1\nslowlog = " + files[3].string() + "\n"));
    std::vector<mode_t> out;
    for (const auto& f : files) out.push_back(fs::exists(f) ? file_mode(f) : 0);
    INFO(binary << ": " << describe_modes(files));
    fpm.process().stop(SIGQUIT);
    return out;
  };
  auto ours = modes(CPPFPM_BINARY, "cppfpm");
  INFO("cppfpm: error log, access log, slowlog, unused slowlog: "
       << ours[0] << " " << ours[1] << " " << ours[2] << " " << ours[3]);
  // php-fpm 8.2 as measured: 0600 each; no slowlog without request_slowlog_timeout.
  CHECK(ours == std::vector<mode_t>{0600, 0600, 0600, 0});
  if (!have_php_fpm()) return;
  auto theirs = modes(kPhpFpm, "php-fpm");
  CHECK(ours == theirs);
}

TEST_CASE("log_limit: a long line of the master or a child is cut as php-fpm8.2 cuts its own",
          "[log][php]") {
  // A pool name long enough makes every line about the pool long: the
  // pm.start_servers notice, the respawn's "exited" and "started" lines.
  // php-fpm 8.2 cuts a line only when it reaches 2048 bytes, its prefix
  // included, and then to log_limit - 1 bytes ending in "..." (zlog.c).
  std::size_t name_size = GENERATE(1500u, 2100u);
  INFO("pool name of " << name_size << " bytes, log_limit = 1024");
  const std::string name(name_size, 'p');
  const std::string pool_lines =
      "pm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\n"
      "pm.max_spare_servers = 3\n";
  TempDir dir("cppfpm-log-limit-");
  // The untimed lines about the pool once a child was killed and replaced.
  auto lines_of = [&](const std::string& binary, const std::string& tag) {
    Fpm fpm(binary, dir.path(), tag, "log_limit = 1024\n", pool_section(binary, name, pool_lines));
    REQUIRE(wait_until([&] { return fpm.process().children().size() == 2; }, 5s));
    ::kill(fpm.process().children().front(), SIGKILL);
    REQUIRE(wait_until(
        [&] {
          auto log = fpm.log();
          return log.find("WARNING: [pool ppp") != std::string::npos &&
                 log.find("NOTICE: [pool ppp", log.find("WARNING: [pool ppp")) != std::string::npos;
        },
        5s));
    std::string text = fpm.log();
    fpm.process().stop(SIGQUIT);
    return text;
  };
  const std::string ours = lines_of(CPPFPM_BINARY, "cppfpm");
  INFO(ours.substr(0, 4000));
  const std::string notice = line_starting(ours, "NOTICE: [pool ppp");
  const std::string warning = line_starting(ours, "WARNING: [pool ppp");
  // The time stamp is 23 bytes: the whole line is log_limit - 1 when cut.
  if (name_size > 2048) {
    CHECK(notice.size() + 23 == 1023);
    CHECK(notice.substr(notice.size() - 4) == "p...");
    CHECK(warning.size() + 23 == 1023);
  } else {
    CHECK(notice == "NOTICE: [pool " + name + "] pm.start_servers is not set. It's been set to 2.");
    CHECK(warning.find("] child ") == 15 + name.size());
  }
  if (!have_php_fpm()) return;
  const std::string theirs = lines_of(kPhpFpm, "php-fpm");
  INFO(theirs.substr(0, 4000));
  CHECK(notice == line_starting(theirs, "NOTICE: [pool ppp"));
  // Whole lines carry pids and times: compared with the numbers masked.
  static const std::regex digits(R"(\d+)");
  CHECK(std::regex_replace(warning, digits, "N") ==
        std::regex_replace(line_starting(theirs, "WARNING: [pool ppp"), digits, "N"));
}

TEST_CASE("log_limit: -tt cuts a long line as php-fpm8.2 -tt does", "[log][php]") {
  TempDir dir("cppfpm-log-limit-tt-");
  // A pool name on each side of php-fpm's 2048-byte buffer: the -tt lines
  // "[NAME]" and its pm.start_servers notice.
  const std::size_t size = GENERATE(1500u, 3000u);
  const std::string name(size, 'p');
  fs::path conf = dir / "fpm.conf";
  write_file(conf, "[global]\nlog_limit = 1024\n[" + name +
                       "]\nlisten = 127.0.0.1:" + std::to_string(free_loopback_port()) +
                       "\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\n"
                       "pm.max_spare_servers = 3\n");
  auto lines = [&](const std::vector<std::string>& argv, const std::string& tag) {
    fs::path out = dir / (tag + ".out");
    CHECK(run_command(argv, out, 20s) == 0);
    std::string text = read_file(out);
    return std::vector<std::string>{line_starting(text, "NOTICE: [ppp"),
                                    line_starting(text, "NOTICE: [pool ppp")};
  };
  const auto ours = lines({CPPFPM_BINARY, "-R", "-tt", "-y", conf.string()}, "ours");
  INFO(ours[0].size() << " and " << ours[1].size() << " bytes after the time stamp");
  if (size > 2048) {
    CHECK(ours[0] == "NOTICE: [" + std::string(1023 - 23 - 9 - 3, 'p') + "...");
    CHECK(ours[1] == "NOTICE: [pool " + std::string(1023 - 23 - 14 - 3, 'p') + "...");
  } else {
    CHECK(ours[0] == "NOTICE: [" + name + "]");
    CHECK(ours[1] ==
          "NOTICE: [pool " + name + "] pm.start_servers is not set. It's been set to 2.");
  }
  if (!have_php_fpm()) return;
  CHECK(ours == lines({kPhpFpm, "-n", "-R", "-tt", "-y", conf.string()}, "theirs"));
}
