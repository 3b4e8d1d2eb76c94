// What an operator sees of the process manager, read off Debian's
// php8.2-fpm and cppfpm side by side on the same pool settings: the status
// and ping pages' bytes, FCGI_STDERR for an unknown script, and the log
// lines of a respawn and a reload. Without php-fpm8.2 the php-fpm halves are
// skipped with a WARN and cppfpm is checked against the bytes php-fpm 8.2
// was measured to write.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fcgi_client.h"
#include "support/http_client.h"
#include "support/net.h"
#include "support/nginx.h"
#include "support/php.h"
#include "support/pm_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// php-fpm8.2 -R -F on a pool of `pool_keys` (status and ping on) at a free
// loopback port, logging to its own error_log.
class PhpFpm {
 public:
  explicit PhpFpm(const std::string& pool_keys)
      : dir_("cppfpm-php-fpm-"), port_(free_loopback_port()) {
    config_ = dir_.path() / "php-fpm.conf";
    log_ = dir_.path() / "php-fpm.log";
    write_file(config_, "[global]\npid = " + (dir_.path() / "php-fpm.pid").string() +
                            "\nerror_log = " + log_.string() +
                            "\n[www]\nlisten = 127.0.0.1:" + std::to_string(port_) +
                            "\nuser = root\ngroup = root\npm.status_path = /status\n"
                            "ping.path = /ping\n" +
                            pool_keys);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{kPhpFpm, "-n", "-R", "-F", "-y", config_.string()},
        dir_.path() / "php-fpm.out");
    if (!process_->wait_for_port(port_, 10s))
      throw std::runtime_error("php-fpm8.2 did not start:\n" + process_->log() + log());
  }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_, {}}; }
  std::string log() const { return fs::exists(log_) ? read_file(log_) : std::string(); }
  const fs::path& log_path() const { return log_; }
  Process& process() { return *process_; }

 private:
  TempDir dir_;
  int port_;
  fs::path config_, log_;
  std::unique_ptr<Process> process_;
};

// The same pm = dynamic pool for both: php-fpm's keys, and cppfpm's.
const char* const kDynamicPool =
    "pm = dynamic\npm.max_children = 4\npm.min_spare_servers = 1\npm.max_spare_servers = 3\n";

ConfigKeys dynamic_pool() {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm", "dynamic");
  set_key(pool, "pm.max_children", "4");
  set_key(pool, "pm.min_spare_servers", "1");
  set_key(pool, "pm.max_spare_servers", "3");
  return pool;
}

// One request for `script`?`query` with `method`, as nginx sends it.
FcgiResponse fetch(const Endpoint& at, const std::string& script, const std::string& query = {},
                   const std::string& method = "GET") {
  Params params = nginx_params(script, {}, query);
  for (auto& [name, value] : params)
    if (name == "REQUEST_METHOD") value = method;
  PmClient client(at);
  return client.request(params);
}

// The CGI headers in order, without PHP's X-Powered-By (expose_php), which
// cppfpm has no PHP version to put in.
Headers headers_of(const FcgiResponse& r) {
  Headers out;
  for (const auto& h : r.headers)
    if (h.first != "X-Powered-By") out.push_back(h);
  return out;
}

std::string describe(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out += name + ": " + value + "\n";
  return out;
}

// `requests:` of the first process block of a text ?full page.
long full_requests(const Endpoint& at) {
  auto processes = pm_status_processes(fetch(at, "/status", "full").body);
  return processes.empty() ? -1 : std::stol(processes.front()["requests"]);
}

// php-fpm's reload line for `argv` (fpm_pctl_exec).
std::string execvp_line(const std::vector<std::string>& argv) {
  std::string line = "NOTICE: reloading: execvp(\"" + argv.front() + "\", {";
  for (std::size_t i = 0; i < argv.size(); ++i) line += (i ? ", \"" : "\"") + argv[i] + "\"";
  return line + "})";
}

bool has_line(const std::string& log, const std::string& text) {
  return log.find("] " + text + "\n") != std::string::npos;
}

// The pids of `process`'s children other than `old`, once there are `n`.
std::vector<pid_t> new_children(Process& process, const std::vector<pid_t>& old, std::size_t n) {
  std::vector<pid_t> fresh;
  wait_until(
      [&] {
        fresh.clear();
        for (pid_t pid : process.children())
          if (std::find(old.begin(), old.end(), pid) == old.end()) fresh.push_back(pid);
        return fresh.size() >= n;
      },
      5s);
  return fresh;
}

mode_t file_mode(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

}  // namespace

TEST_CASE("php-fpm parity: status and ping headers and bodies, HEAD included",
          "[pm][status][ping][php]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  // php-fpm 8.2's bytes, as measured; compared with the real one below.
  CHECK(describe(headers_of(fetch(fpm.endpoint, "/status"))) ==
        "Expires: Thu, 01 Jan 1970 00:00:00 GMT\n"
        "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\n"
        "Content-type: text/plain;charset=UTF-8\n");
  auto ping = fetch(fpm.endpoint, "/ping");
  CHECK(describe(headers_of(ping)) ==
        "Content-type: text/plain;charset=UTF-8\n"
        "Expires: Thu, 01 Jan 1970 00:00:00 GMT\n"
        "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\n");
  CHECK(ping.body == "pong");
  CHECK(fetch(fpm.endpoint, "/ping", {}, "HEAD").body.empty());
  CHECK(fetch(fpm.endpoint, "/status", {}, "HEAD").body.empty());
  if (!have_php_fpm()) return;

  PhpFpm php("pm = static\npm.max_children = 1\n");
  for (const char* query : {"", "json", "xml", "html", "openmetrics", "full", "json&full"})
    for (const char* method : {"GET", "HEAD"}) {
      INFO("/status?" << query << " " << method);
      auto theirs = fetch(php.endpoint(), "/status", query, method);
      auto ours = fetch(fpm.endpoint, "/status", query, method);
      CHECK(describe(headers_of(ours)) == describe(headers_of(theirs)));
      CHECK(ours.status == theirs.status);
      if (std::string(method) == "HEAD") CHECK(ours.body == theirs.body);
    }
  for (const char* method : {"GET", "HEAD"}) {
    INFO("/ping " << method);
    auto theirs = fetch(php.endpoint(), "/ping", {}, method);
    auto ours = fetch(fpm.endpoint, "/ping", {}, method);
    CHECK(describe(headers_of(ours)) == describe(headers_of(theirs)));
    CHECK(ours.body == theirs.body);
  }
}

TEST_CASE("php-fpm parity: the child answering the status page is active and counted",
          "[pm][status][php]") {
  PmServer fpm(one_child_pool(loopback_endpoint(), 2));
  REQUIRE(fpm.wait_children(1, 3s));
  fetch(fpm.endpoint, "/ping");
  fetch(fpm.endpoint, "/ping", {}, "HEAD");
  // Two pings and this page itself: a request counts when it starts.
  CHECK(full_requests(fpm.endpoint) == 3);
  CHECK(fpm.status()["active processes"] == "1");
  CHECK(fpm.status()["idle processes"] == "0");

  // "/" as json_encode writes it, in the URI of a request in flight.
  auto slow = slow_request(fpm.endpoint, 600);
  std::string json;
  wait_until(
      [&] {
        json = fetch(fpm.endpoint, "/status", "json&full").body;
        return json.find("sleep") != std::string::npos;
      },
      3s);
  INFO(json);
  CHECK(json.find("\"request uri\":\"\\/__test\\/sleep?ms=600\"") != std::string::npos);
  CHECK(json.find("\"/") == std::string::npos);
  slow.get();
  if (!have_php_fpm()) return;

  PhpFpm php("pm = static\npm.max_children = 1\n");
  auto php_status = parse_status_text(fetch(php.endpoint(), "/status").body);
  CHECK(php_status["active processes"] == "1");
  CHECK(php_status["idle processes"] == "0");
  // php-fpm also counts its start-up probe connection: compare increments.
  for (const Endpoint& at : {php.endpoint(), fpm.endpoint}) {
    long before = full_requests(at);
    fetch(at, "/ping");
    fetch(at, "/ping", {}, "HEAD");
    CHECK(full_requests(at) - before == 3);
  }
  std::string php_json = fetch(php.endpoint(), "/status", "json&full").body;
  INFO(php_json);
  CHECK(php_json.find("\"request uri\":\"\\/status?json&full\"") != std::string::npos);
}

TEST_CASE("php-fpm parity: an unknown script sends \"Primary script unknown\" on FCGI_STDERR",
          "[pm][pages][php]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  auto ours = fetch(fpm.endpoint, "/nope.php");
  CHECK(ours.ended);
  CHECK(ours.stderr_data == "Primary script unknown");
  CHECK(ours.stdout_data ==
        "Status: 404 Not Found\r\nContent-type: text/html; charset=UTF-8\r\n\r\nFile not found.\n");
  if (!have_php_fpm()) return;
  PhpFpm php("pm = static\npm.max_children = 1\n");
  auto theirs = fetch(php.endpoint(), "/nope.php");
  CHECK(ours.stderr_data == theirs.stderr_data);
  CHECK(describe(headers_of(ours)) == describe(headers_of(theirs)));
  CHECK(ours.body == theirs.body);
}

TEST_CASE("php-fpm parity: nginx logs the unknown script as FastCGI sent in stderr",
          "[pm][pages][nginx]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  TempDir nginx_dir("cppfpm-parity-nginx-");
  Nginx nginx(nginx_dir.path(), fpm.endpoint.port);
  auto r = http_get(nginx.port(), "/nope.php", {}, 5s);
  CHECK(r.status == 404);
  CHECK(r.body == "File not found.\n");
  bool logged = wait_until(
      [&] {
        return nginx.error_log().find("FastCGI sent in stderr: \"Primary script unknown\"") !=
               std::string::npos;
      },
      2s);
  INFO(nginx.error_log());
  CHECK(logged);
}

TEST_CASE("php-fpm parity: a respawned child is announced, the first ones are not",
          "[pm][signals][php]") {
  auto check = [](Process& process, const std::function<std::string()>& log) {
    REQUIRE(wait_until([&] { return process.children().size() == 1; }, 5s));
    std::vector<pid_t> old = process.children();
    CHECK(log().find("NOTICE: [pool www] child ") == std::string::npos);
    ::kill(old.front(), SIGKILL);
    auto fresh = new_children(process, old, 1);
    REQUIRE(fresh.size() == 1);
    std::string line = "NOTICE: [pool www] child " + std::to_string(fresh.front()) + " started";
    bool announced = wait_until([&] { return has_line(log(), line); }, 3s);
    INFO(log());
    CHECK(announced);
  };
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  PmServer fpm(pool);
  check(fpm.process(), [&] { return fpm.log(); });
  if (!have_php_fpm()) return;
  PhpFpm php("pm = static\npm.max_children = 1\n");
  check(php.process(), [&] { return php.log(); });
}

TEST_CASE("php-fpm parity: reload log lines, and the error log is created 0600",
          "[pm][signals][reload][php]") {
  auto check = [](Process& process, const std::function<std::string()>& log,
                  const fs::path& log_path, int port) {
    INFO(log());
    CHECK(file_mode(log_path) == 0600);
    CHECK(has_line(log(), "NOTICE: [pool www] pm.start_servers is not set. It's been set to 2."));
    CHECK(has_line(log(), "NOTICE: systemd monitor interval set to 10000ms"));
    process.signal(SIGUSR2);
    std::string inherited = "\"127.0.0.1:" + std::to_string(port) + "\"";
    CHECK(wait_until(
        [&] {
          auto text = log();
          auto at = text.find("NOTICE: using inherited socket fd=");
          return at != std::string::npos && text.find(inherited, at) != std::string::npos;
        },
        5s));
    std::string text = log();
    CHECK(has_line(text, "NOTICE: Reloading in progress ..."));
    CHECK(has_line(text, execvp_line(process.argv())));
  };
  TempDir dir("cppfpm-parity-log-");
  fs::path error_log = dir.path() / "error.log";
  auto pool = dynamic_pool();
  PmServer fpm(pool, {{"error_log", error_log.string()}});
  check(
      fpm.process(), [&] { return read_file(error_log); }, error_log, fpm.endpoint.port);
  if (!have_php_fpm()) return;
  PhpFpm php(kDynamicPool);
  REQUIRE(wait_until([&] { return php.log().find("systemd monitor") != std::string::npos; }, 5s));
  check(
      php.process(), [&] { return php.log(); }, php.log_path(), php.endpoint().port);
}

namespace {

// The log's lines from "Reloading in progress ..." on, without time stamps,
// pids, fd numbers, durations and the execvp arguments (the binaries and
// their paths differ): the sequence an operator's log watcher sees.
std::vector<std::string> reload_sequence(const std::string& log) {
  static const std::regex stamp(R"(^\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\] )");
  static const std::regex numbers(R"((pid |child |fd=)\d+)");
  static const std::regex seconds(R"(after \d+\.\d+ seconds)");
  static const std::regex exec(R"(reloading: execvp\(.*\)$)");
  std::vector<std::string> out;
  bool started = false;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    line = std::regex_replace(line, stamp, "");
    started = started || line == "NOTICE: Reloading in progress ...";
    if (!started) continue;
    line = std::regex_replace(line, numbers, "$1N");
    line = std::regex_replace(line, seconds, "after T seconds");
    out.push_back(std::regex_replace(line, exec, "reloading: execvp(...)"));
  }
  return out;
}

std::string joined_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("php-fpm parity: the reload's log lines come in php-fpm8.2's order",
          "[pm][signals][reload][php]") {
  // SIGUSR2 on an idle dynamic pool without pm.start_servers; the sequence
  // ends with the new generation's systemd line.
  auto sequence = [](Process& process, const std::function<std::string()>& log) {
    process.signal(SIGUSR2);
    bool done = wait_until(
        [&] {
          auto text = log();
          auto first = text.find("systemd monitor interval");
          return first != std::string::npos &&
                 text.find("systemd monitor interval", first + 1) != std::string::npos;
        },
        10s);
    INFO(log());
    CHECK(done);
    return reload_sequence(log());
  };
  TempDir dir("cppfpm-parity-reload-");
  fs::path error_log = dir.path() / "error.log";
  auto pool = dynamic_pool();
  PmServer fpm(pool, {{"error_log", error_log.string()}});
  REQUIRE(fpm.wait_children(2, 5s));
  auto ours = sequence(fpm.process(), [&] { return read_file(error_log); });
  // php-fpm 8.2's order, as measured.
  const std::vector<std::string> measured = {
      "NOTICE: Reloading in progress ...",
      "NOTICE: reloading: execvp(...)",
      "NOTICE: [pool www] pm.start_servers is not set. It's been set to 2.",
      "NOTICE: using inherited socket fd=N, \"127.0.0.1:" + std::to_string(fpm.endpoint.port) +
          "\"",
      "NOTICE: fpm is running, pid N",
      "NOTICE: ready to handle connections",
      "NOTICE: systemd monitor interval set to 10000ms",
  };
  CHECK(joined_lines(ours) == joined_lines(measured));
  if (!have_php_fpm()) return;
  PhpFpm php(kDynamicPool);
  REQUIRE(wait_until([&] { return php.log().find("systemd monitor") != std::string::npos; }, 5s));
  auto theirs = sequence(php.process(), [&] { return php.log(); });
  std::string port = std::to_string(fpm.endpoint.port);
  std::string text = joined_lines(ours);
  text.replace(text.find(port), port.size(), std::to_string(php.endpoint().port));
  CHECK(text == joined_lines(theirs));
}
