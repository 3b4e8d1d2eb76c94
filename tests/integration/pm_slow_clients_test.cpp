// Idle and slow clients (issue 12, items 1, 7 and 8): connections that send
// nothing are closed at request_head_first_byte_timeout, those without a
// request are capped by pm.max_pending_heads (oldest closed first), a peer
// that shuts its side on half a head is closed at once, and under 1,500 idle
// plus 300 slowloris connections at rlimit_files = 1024 a kept client is
// answered fast, the child's CPU stays low and the log short.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "support/pm_server.h"
#include "support/process.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

// The head of a GET as nginx sends it: BEGIN_REQUEST and PARAMS, no STDIN.
std::string request_head() {
  std::string pairs;
  for (const auto& [name, value] : nginx_params("/ping")) pairs += fcgi::name_value(name, value);
  return fcgi::record(fcgi::begin_request, 1, fcgi::begin_request_body(fcgi::role_responder, 0)) +
         fcgi::stream(fcgi::params, 1, pairs);
}

// A connect that does not wait: the kernel completes it when the backlog
// has room (a flood of clients).
Fd connect_nowait(const Endpoint& at) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(at.port));
  ::inet_pton(AF_INET, at.host.c_str(), &addr.sin_addr);
  ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  return fd;
}

void raise_own_fd_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

Millis percentile(std::vector<Millis> samples, double p) {
  if (samples.empty()) return Millis(-1);
  std::sort(samples.begin(), samples.end());
  auto at = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
  return samples[at];
}

}  // namespace

TEST_CASE("slow clients: a silent connection is closed at the first-byte timeout, a kept one not",
          "[pm][slow]") {
  auto pool = one_child_pool(loopback_endpoint(), 4);
  set_key(pool, "request_head_first_byte_timeout", "300ms");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 5s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 3s).body == "pong");

  Fd silent = pm_connect(fpm.endpoint);
  Stopwatch watch;
  CHECK(peer_closes_within(silent.get(), 3s));
  INFO("closed after " << watch.elapsed().count() << " ms");
  CHECK(watch.elapsed() >= 250ms);
  CHECK(watch.elapsed() < 1500ms);

  // Idle for three times the timeout after its request: still served.
  std::this_thread::sleep_for(1s);
  CHECK(kept.request(nginx_params("/ping"), true, 2, 3s).body == "pong");
  CHECK(fpm.log_count("request_head_first_byte_timeout") == 1);
}

TEST_CASE("slow clients: over pm.max_pending_heads the oldest connection without a request goes",
          "[pm][slow]") {
  auto pool = one_child_pool(loopback_endpoint(), 8);
  set_key(pool, "pm.max_pending_heads", "3");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 5s));
  REQUIRE(fpm.get("/ping").body == "pong");

  // A kept connection that has served a request is not counted.
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 3s).body == "pong");
  std::vector<Fd> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(pm_connect(fpm.endpoint));
    std::this_thread::sleep_for(50ms);  // accepted in this order
  }
  CHECK(!peer_closes_within(waiting[0].get(), 300ms));

  waiting.push_back(pm_connect(fpm.endpoint));  // the fourth
  CHECK(peer_closes_within(waiting[0].get(), 2s));
  for (std::size_t i = 1; i < waiting.size(); ++i) {
    INFO("connection " << i);
    CHECK(!peer_closes_within(waiting[i].get(), 200ms));
  }
  CHECK(kept.request(nginx_params("/ping"), true, 2, 3s).body == "pong");
  CHECK(fpm.log_count("pm.max_pending_heads") == 1);
}

TEST_CASE("slow clients: a peer that shuts its side on half a request head is closed at once",
          "[pm][slow]") {
  PmServer fpm(one_child_pool(loopback_endpoint(), 4));
  REQUIRE(fpm.wait_children(1, 5s));
  Fd fd = pm_connect(fpm.endpoint);
  std::string head = request_head();
  REQUIRE(send_all(fd.get(), std::string_view(head).substr(0, head.size() / 2)));
  std::this_thread::sleep_for(200ms);  // the loop has seen the half head
  ::shutdown(fd.get(), SHUT_WR);
  Stopwatch watch;
  CHECK(peer_closes_within(fd.get(), 3s));
  INFO("closed after " << watch.elapsed().count() << " ms");
  CHECK(watch.elapsed() < 1000ms);  // 10 s (the head timeout) before
  CHECK(fpm.get("/ping").body == "pong");
}

TEST_CASE("slow clients: partial heads cost no CPU while they wait for more bytes", "[pm][slow]") {
  raise_own_fd_limit();
  PmServer fpm(one_child_pool(loopback_endpoint(), 8));
  REQUIRE(fpm.wait_children(1, 5s));
  pid_t child = fpm.children().front();
  const std::string head = request_head();
  std::vector<Fd> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(pm_connect(fpm.endpoint));
    REQUIRE(send_all(slow.back().get(), std::string_view(head).substr(0, 10)));
  }
  auto open_fds = [&] {
    auto dir = std::filesystem::directory_iterator("/proc/" + std::to_string(child) + "/fd");
    return std::distance(dir, std::filesystem::directory_iterator{});
  };
  REQUIRE(wait_until([&] { return open_fds() >= 300; }, 6s, 50ms));
  // Peeked at again every 5 ms before (about 5 % of a core for 300).
  double cpu_before = cpu_seconds(child);
  REQUIRE(cpu_before >= 0);
  std::this_thread::sleep_for(3s);
  double cpu_used = cpu_seconds(child) - cpu_before;
  INFO("child CPU " << cpu_used << " s over 3 s with 300 partial heads");
  CHECK(cpu_used < 0.06);
  CHECK(open_fds() >= 300);  // all still open: the head timeout is 10 s
  CHECK(fpm.get("/ping").body == "pong");
}

// (No comma in a test name: ctest hands it to Catch as a filter.)
TEST_CASE("slow clients: 1500 idle and 300 slowloris connections at rlimit_files = 1024",
          "[pm][slow][attack]") {
  raise_own_fd_limit();
  auto pool = one_child_pool(loopback_endpoint(), 8);
  set_key(pool, "rlimit_files", "1024");
  set_key(pool, "request_head_first_byte_timeout", "2s");
  // Room for the whole flood: with the default 511 the kernel drops the SYNs
  // that find the accept queue full (a fresh client then waits 1 s for its
  // retransmission however fast the child accepts).
  set_key(pool, "listen.backlog", "4096");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 5s));
  pid_t child = fpm.children().front();
  PmClient good(fpm.endpoint);  // nginx's kept upstream connection
  REQUIRE(good.request(nginx_params("/setSession.php"), true, 1, 3s).status == 200);
  const std::string log_at_start = fpm.log();
  const auto log_before = std::count(log_at_start.begin(), log_at_start.end(), '\n');

  double cpu_before = cpu_seconds(child);
  REQUIRE(cpu_before >= 0);
  std::vector<Fd> idle, slow;
  for (int i = 0; i < 1500; ++i) idle.push_back(connect_nowait(fpm.endpoint));
  for (int i = 0; i < 300; ++i) slow.push_back(connect_nowait(fpm.endpoint));
  const std::string head = request_head();

  std::vector<Millis> latency, fresh_latency;
  int failed = 0, fresh_failed = 0;
  std::uint16_t id = 2;
  Stopwatch attack;
  // Bytes of the head each slowloris connection got through: one a second,
  // in order (a connection still connecting takes its byte later).
  std::vector<std::size_t> sent(slow.size(), 0);
  auto next_byte = std::chrono::steady_clock::now();
  while (attack.elapsed() < 8s) {
    if (std::chrono::steady_clock::now() >= next_byte) {
      for (std::size_t i = 0; i < slow.size(); ++i)
        if (sent[i] + 1 < head.size() &&
            ::send(slow[i].get(), head.data() + sent[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
          ++sent[i];
      next_byte += 1s;
    }
    Stopwatch one;
    auto r = good.request(nginx_params("/setSession.php"), true, id++, 5s);
    latency.push_back(one.elapsed());
    if (r.status != 200) ++failed;
    // And a client that connects for each request (nginx without keepalive).
    Stopwatch fresh;
    try {
      if (fpm.get("/setSession.php", {}, 5s).status != 200) ++fresh_failed;
    } catch (const std::exception& e) {  // connect() timed out
      ++fresh_failed;
      WARN(e.what());
    }
    fresh_latency.push_back(fresh.elapsed());
    std::this_thread::sleep_for(20ms);
  }
  double cpu_used = cpu_seconds(child) - cpu_before;
  std::string log = fpm.log();
  auto log_lines = std::count(log.begin(), log.end(), '\n') - log_before;

  Millis p50 = percentile(latency, 0.5), p99 = percentile(latency, 0.99);
  Millis worst = percentile(latency, 1.0);
  Millis fresh_p50 = percentile(fresh_latency, 0.5), fresh_p99 = percentile(fresh_latency, 0.99);
  WARN("slowloris attack: " << latency.size() << " requests on a kept connection, " << failed
                            << " failed, p50 " << p50.count() << " ms, p99 " << p99.count()
                            << " ms, max " << worst.count() << " ms; on fresh connections "
                            << fresh_failed << " failed, p50 " << fresh_p50.count() << " ms, p99 "
                            << fresh_p99.count() << " ms, max "
                            << percentile(fresh_latency, 1.0).count() << " ms; child CPU "
                            << cpu_used << " s over 8 s; " << log_lines << " log lines");
  INFO("log tail:\n" << log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
  CHECK(failed == 0);
  CHECK(latency.size() > 50);
  CHECK(p99 < 500ms);
  CHECK(fresh_failed == 0);
  CHECK(fresh_p99 < 500ms);
  CHECK(cpu_used < 2.0);
  CHECK(log_lines < 100);
  // The silent ones were closed (first-byte timeout, cap), not left to hold
  // every descriptor: a fresh connection is served once the flood is drained.
  CHECK(fpm.log_count("request_head_first_byte_timeout") >= 1);
  slow.clear();
  idle.clear();
  CHECK(wait_until([&] { return fpm.get("/ping", {}, 2s).body == "pong"; }, 10s, 100ms));
}
