// A memcached outage in the log (issue 12, "logs under attack": outage
// state from real probes): under load on session pages from 2 children x
// 4 threads, a freeze (SIGSTOP for 3 s, SIGCONT) or a crash (SIGKILL, then
// a restart on the same port) gives exactly one "unreachable" line and one
// "reachable again" line for that server, and the second is written after
// memcached answers again, never while it is frozen. With two servers and
// session.replicas = 1, a server that restarted and then the other one
// dying costs no request: a thread whose connection to the restarted
// server is stale opens it again instead of failing. The figures are
// printed; CPPFPM_TEST_BINARY=<another build> measures another build.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/query_cache_helpers.h"
#include "support/fcgi_client.h"
#include "support/memcached.h"
#include "support/php.h"
#include "support/stack.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDown = "unreachable";
constexpr const char* kUp = "reachable again";

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The lines of `log` holding `what` and "memcached".
std::vector<std::string> lines_with(const std::string& log, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("memcached") != std::string::npos && line.find(what) != std::string::npos)
      out.push_back(line);
  }
  return out;
}

// The time a "[01-Dec-2026 20:33:26] ..." line was written (local time,
// whole seconds), nullopt when it has no such prefix.
std::optional<std::time_t> line_time(const std::string& line) {
  std::tm tm{};
  if (line.size() < 2 || line[0] != '[') return std::nullopt;
  const char* end = ::strptime(line.c_str() + 1, "%d-%b-%Y %H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

FcgiResponse counter(int port, const std::string& cookie) {
  try {
    FcgiClient client(port);
    return client.request(nginx_params("/__test/counter", cookie, ""), {}, false, 1, 20s);
  } catch (const std::exception&) {
    return FcgiResponse{};  // status 0: no answer
  }
}

std::string id_of(const FcgiResponse& r) {
  const auto space = r.body.find(' ');
  return space == std::string::npos ? std::string() : r.body.substr(space + 1);
}

long count_of(const FcgiResponse& r) {
  try {
    return std::stol(r.body);
  } catch (const std::exception&) {
    return -1;
  }
}

std::vector<std::string> make_sessions(int port, int n) {
  std::vector<std::string> cookies;
  for (int i = 0; i < n; ++i) {
    auto r = counter(port, "");
    REQUIRE(r.status == 200);
    cookies.push_back("PHPSESSID=" + id_of(r));
  }
  return cookies;
}

// Clients in a loop on the counter page, each on its own session (no lock
// contention), counting failed answers and sessions that came back reset.
class Load {
 public:
  Load(int port, std::vector<std::string> cookies) : port_(port), cookies_(std::move(cookies)) {
    for (std::size_t c = 0; c < cookies_.size(); ++c) threads_.emplace_back([this, c] { run(c); });
  }
  ~Load() { stop(); }
  void stop() {
    running_ = false;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  int lost() const { return lost_; }
  // The last time an answer was not 200.
  Clock::time_point last_failure() {
    std::lock_guard lock(mutex_);
    return last_failure_;
  }
  // Waits until `n` answers of 200 came in a row after now (at most `limit`).
  bool serving(int n, Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    streak_ = 0;
    while (Clock::now() < deadline) {
      if (streak_ >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  void run(std::size_t c) {
    long last = -1;
    const std::string id = cookies_[c].substr(std::string("PHPSESSID=").size());
    while (running_) {
      auto r = counter(port_, cookies_[c]);
      if (r.status == 200) {
        ++ok_;
        ++streak_;
        const long n = count_of(r);
        if (id_of(r) != id || (last >= 0 && n != last + 1)) ++lost_;
        last = n;
      } else {
        ++failed_;
        streak_ = 0;
        {
          std::lock_guard lock(mutex_);
          last_failure_ = Clock::now();
        }
        std::this_thread::sleep_for(20ms);  // as a client would back off
      }
    }
  }

  int port_;
  std::vector<std::string> cookies_;
  std::atomic<bool> running_{true};
  std::atomic<int> ok_{0}, failed_{0}, lost_{0}, streak_{0};
  std::mutex mutex_;
  Clock::time_point last_failure_{};
  std::vector<std::thread> threads_;
};

// Watches the log from another thread: when each line first appeared.
class LogWatch {
 public:
  explicit LogWatch(Stack& stack) : stack_(stack) {
    thread_ = std::thread([this] {
      while (running_) {
        const std::string log = stack_.fpm_log();
        const auto now = Clock::now();
        {
          std::lock_guard lock(mutex_);
          if (!down_ && !lines_with(log, kDown).empty()) down_ = now;
          if (!up_ && !lines_with(log, kUp).empty()) up_ = now;
        }
        std::this_thread::sleep_for(10ms);
      }
    });
  }
  ~LogWatch() {
    running_ = false;
    thread_.join();
  }
  std::optional<Clock::time_point> down() {
    std::lock_guard lock(mutex_);
    return down_;
  }
  std::optional<Clock::time_point> up() {
    std::lock_guard lock(mutex_);
    return up_;
  }

 private:
  Stack& stack_;
  std::atomic<bool> running_{true};
  std::mutex mutex_;
  std::optional<Clock::time_point> down_, up_;
  std::thread thread_;
};

// 2 children x 4 threads (as the measurement), 16 clients.
StackOptions busy_pool() {
  return {[](ConfigKeys& pool) {
    set_key(pool, "pm.max_children", "2");
    set_key(pool, "pm.threads_per_child", "4");
  }};
}

// After memcached answers again: the load goes on for longer than the
// outage grace (retry timeout + 2 calls), so a second outage that the tail
// of the first would start is in the log.
constexpr auto kAfterRecovery = 6s;

}  // namespace

TEST_CASE("memcached outage log: a 3 s freeze is one unreachable and one reachable-again line",
          "[session][outage][memcached]") {
  Stack stack(busy_pool());
  const int port = stack.fpm_port();
  Load load(port, make_sessions(port, 16));
  REQUIRE(load.serving(50, 10s));
  LogWatch watch(stack);

  REQUIRE(::kill(stack.memcached.pid(), SIGSTOP) == 0);
  const auto frozen = Clock::now();
  std::this_thread::sleep_for(3s);
  const std::string log_while_frozen = stack.fpm_log();
  const std::time_t cont_wall = std::time(nullptr);
  // Under CPU load this thread may run again only a while after memcached
  // did: the line must not come before the signal was sent.
  const auto sending = Clock::now();
  REQUIRE(::kill(stack.memcached.pid(), SIGCONT) == 0);
  const auto thawed = Clock::now();
  const bool served = load.serving(50, 20s);
  std::this_thread::sleep_for(kAfterRecovery);
  load.stop();

  const std::string log = stack.fpm_log();
  const auto down_lines = lines_with(log, kDown);
  const auto up_lines = lines_with(log, kUp);
  const auto up_seen = watch.up();
  const double up_after_cont = up_seen ? seconds(*up_seen - thawed) : -999;
  std::cout << "memcached outage log, frozen 3 s under load (2 children x 4 threads, 16 "
               "clients): unreachable lines "
            << down_lines.size() << ", reachable-again lines " << up_lines.size()
            << " (while frozen " << lines_with(log_while_frozen, kUp).size()
            << "); first unreachable line "
            << (watch.down() ? seconds(*watch.down() - frozen) : -999)
            << " s after SIGSTOP, first reachable-again line " << up_after_cont
            << " s after SIGCONT; requests ok " << load.ok() << ", failed " << load.failed()
            << ", last failure " << seconds(load.last_failure() - thawed) << " s after SIGCONT\n";
  INFO(log);
  CHECK(served);
  CHECK(lines_with(log_while_frozen, kUp).empty());
  CHECK(down_lines.size() == 1);
  REQUIRE(up_lines.size() == 1);
  REQUIRE(up_seen);
  CHECK(*up_seen >= sending);
  const auto written = line_time(up_lines[0]);
  REQUIRE(written);
  CHECK(*written >= cont_wall);
}

TEST_CASE("memcached outage log: a kill and a restart are one unreachable and one reachable line",
          "[session][outage][memcached]") {
  Stack stack(busy_pool());
  const int port = stack.fpm_port();
  Load load(port, make_sessions(port, 16));
  REQUIRE(load.serving(50, 10s));
  LogWatch watch(stack);

  stack.memcached.kill();
  const auto killed = Clock::now();
  std::this_thread::sleep_for(2s);
  const std::string log_while_dead = stack.fpm_log();
  stack.memcached.restart();
  const auto restarted = Clock::now();
  const bool served = load.serving(50, 20s);
  std::this_thread::sleep_for(kAfterRecovery);
  load.stop();

  const std::string log = stack.fpm_log();
  const auto down_lines = lines_with(log, kDown);
  const auto up_lines = lines_with(log, kUp);
  std::cout << "memcached outage log, SIGKILL then restart 2 s later under load (2 children x 4 "
               "threads, 16 clients): unreachable lines "
            << down_lines.size() << ", reachable-again lines " << up_lines.size() << " (while dead "
            << lines_with(log_while_dead, kUp).size() << "); first unreachable line "
            << (watch.down() ? seconds(*watch.down() - killed) : -999)
            << " s after SIGKILL, first reachable-again line "
            << (watch.up() ? seconds(*watch.up() - restarted) : -999)
            << " s after the restart; requests ok " << load.ok() << ", failed " << load.failed()
            << ", last failure " << seconds(load.last_failure() - restarted)
            << " s after the restart\n";
  INFO(log);
  CHECK(served);
  CHECK(lines_with(log_while_dead, kUp).empty());
  CHECK(down_lines.size() == 1);
  CHECK(up_lines.size() == 1);
}

TEST_CASE(
    "memcached outage log: with replicas, one server restarted and then the other killed costs "
    "no request",
    "[session][outage][memcached][cluster]") {
  TempDir other_dir("cppfpm-second-memcached-");
  Memcached b(other_dir.path());
  Stack stack({[&](ConfigKeys& pool) {
    set_key(pool, "pm.max_children", "2");
    set_key(pool, "pm.threads_per_child", "4");
    set_key(pool, "session.replicas", "1");
    set_key(pool, "session.memcached_timeout", "500ms");
    // save_path is A (the stack's), then B.
    std::string a;
    for (const auto& [key, value] : pool)
      if (key == "session.save_path") a = value.substr(1, value.size() - 2);
    set_key(pool, "session.save_path", "\"" + a + ", " + b.save_path() + "\"");
  }});
  Memcached& a = stack.memcached;
  const int port = stack.fpm_port();
  auto cookies = make_sessions(port, 16);
  {
    // Every thread of both children gets connections to both servers.
    Load warm(port, cookies);
    REQUIRE(warm.serving(100, 10s));
  }
  // A restarts (empty) while nothing is asked of it: every thread's
  // connection to it is now stale. Its copies come back from B, as a
  // replica would be repaired, without cppfpm's handles.
  a.kill();
  a.restart();
  int copied = 0;
  for (const std::string& cookie : cookies) {
    const std::string id = cookie.substr(std::string("PHPSESSID=").size());
    if (auto value = memcached_get(b.port(), id)) copied += memcached_set(a.port(), id, *value);
  }
  REQUIRE(copied == static_cast<int>(cookies.size()));
  // Then B dies: every session must now come from A.
  b.kill();
  Load load(port, cookies);
  std::this_thread::sleep_for(3s);
  load.stop();

  const std::string log = stack.fpm_log();
  std::cout << "memcached outage log, replicas=1, A restarted then B killed, 16 clients for 3 s: "
               "requests ok "
            << load.ok() << ", failed " << load.failed() << ", sessions lost " << load.lost()
            << "; log lines unreachable " << lines_with(log, kDown).size() << ", reachable again "
            << lines_with(log, kUp).size() << "\n";
  INFO(log);
  CHECK(load.ok() > 100);
  CHECK(load.failed() == 0);
  CHECK(load.lost() == 0);
  // B's outage only; A never failed a request.
  const auto down_lines = lines_with(log, kDown);
  CHECK(down_lines.size() == 1);
  for (const auto& line : down_lines)
    CHECK(line.find(std::to_string(b.port())) != std::string::npos);
  CHECK(lines_with(log, kUp).empty());
}

// The query cache on two servers: one killed is its own outage (the other
// server's answers do not end it), logged once naming it, and once again
// when it is back.
TEST_CASE("memcached outage log: the query cache logs each server's outage by itself",
          "[query_cache][outage][memcached]") {
  TempDir other_dir("cppfpm-second-memcached-");
  Memcached b(other_dir.path());
  Stack stack({[&](ConfigKeys& pool) {
    std::string a;
    for (const auto& [key, value] : pool)
      if (key == "session.save_path") a = value.substr(1, value.size() - 2);
    set_key(pool, "cache.servers", "\"" + a + ", " + b.save_path() + "\"");
  }});
  query_cache::load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  const int port = stack.fpm_port();
  const std::string b_name = "127.0.0.1:" + std::to_string(b.port());
  auto rounds = [&](Clock::duration how_long) {
    int failed = 0;
    const auto end = Clock::now() + how_long;
    while (Clock::now() < end)
      for (int id = 1; id <= 8; ++id) {
        FcgiResponse r;
        try {
          FcgiClient client(port);
          r = client.request(nginx_params("/queryCache.php", "", "id=" + std::to_string(id)), {},
                             false, 1, 20s);
        } catch (const std::exception&) {
        }
        failed += r.status != 200;
      }
    return failed;
  };
  CHECK(rounds(1s) == 0);
  b.kill();
  CHECK(rounds(3s) == 0);  // B's keys go to MariaDB
  std::string log = stack.fpm_log();
  INFO(log);
  const auto down_lines = lines_with(log, kDown);
  REQUIRE(down_lines.size() == 1);
  CHECK(down_lines[0].find(b_name) != std::string::npos);
  CHECK(lines_with(log, kUp).empty());  // A answering is no news about B
  b.restart();
  CHECK(rounds(4s) == 0);
  log = stack.fpm_log();
  INFO(log);
  CHECK(lines_with(log, kDown).size() == 1);
  const auto up_lines = lines_with(log, kUp);
  REQUIRE(up_lines.size() == 1);
  CHECK(up_lines[0].find(b_name) != std::string::npos);
}
