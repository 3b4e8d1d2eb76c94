// memcached gone: session pages answer a clear 503 within
// session.memcached_timeout, the log says so once per outage (not once per
// request, not once per child), and cppfpm recovers by itself when
// memcached is back.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/fcgi_client.h"
#include "support/parallel.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

// Asks until setSession answers 200, up to `limit`.
bool answers_within(int port, Millis limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fcgi_get(port, "/setSession.php").status == 200) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("session outage: memcached killed gives 503s and one log line and recovers",
          "[session][outage][memcached]") {
  Stack stack({[](ConfigKeys& pool) { set_key(pool, "session.memcached_timeout", "500ms"); }});
  const int port = stack.fpm_port();
  auto first = fcgi_get(port, "/setSession.php");
  REQUIRE(first.status == 200);
  const auto page = parse_set_session(first.body);
  REQUIRE(page);
  const std::string cookie = "PHPSESSID=" + page->id;

  for (int outage = 1; outage <= 2; ++outage) {
    INFO("outage " << outage);
    stack.memcached.kill();
    for (int i = 0; i < 40; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = fcgi_get(port, i % 2 ? "/showSession.php" : "/setSession.php", cookie);
      const auto took = std::chrono::steady_clock::now() - t0;
      INFO("request " << i << ": " << r.stdout_data);
      CHECK(r.status == 503);
      CHECK(r.body.find("Session storage unavailable") != std::string::npos);
      CHECK(took < 1500ms);  // memcached_timeout (500 ms) and some slack
    }
    stack.memcached.restart();
    REQUIRE(answers_within(port, 10s));
    // Once one thread has seen it back, every handle that failed dials
    // again at its next call, in every child.
    for (int i = 0; i < 20; ++i) CHECK(fcgi_get(port, "/setSession.php").status == 200);
    const std::string log = stack.fpm_log();
    INFO(log);
    CHECK(count_of(log, "memcached unreachable") == outage);
    CHECK(count_of(log, "memcached reachable again") == outage);
    CHECK(count_of(log, "session store is unavailable") == 0);
    // A failure within retry_timeout + 2 * memcached_timeout of a recovery
    // is the tail of that outage (other children still skip the server),
    // not a new one: let that window pass before the next.
    std::this_thread::sleep_for(3500ms);
  }
}

TEST_CASE(
    "session outage: once memcached answers one thread, a thread that failed before is served",
    "[session][outage][memcached]") {
  Stack stack;
  const int port = stack.fpm_port();
  REQUIRE(fcgi_get(port, "/setSession.php").status == 200);
  stack.memcached.kill();
  // One request fails: its thread's handle now skips memcached for the
  // retry timeout (1 to 2 s, libmemcached counts whole seconds); the other
  // threads' handles never failed.
  REQUIRE(fcgi_get(port, "/setSession.php").status == 503);
  stack.memcached.restart();
  // Asked one at a time, a child sends each request to the thread that
  // failed: it dials memcached again within session's probe interval
  // (250 ms), not when its handle's retry timeout ends.
  const auto restarted = std::chrono::steady_clock::now();
  REQUIRE(answers_within(port, 5s));
  const auto back_after = std::chrono::steady_clock::now() - restarted;
  CHECK(back_after < 1000ms);
  // Then bursts over every thread of both children: a handle that failed
  // before memcached was seen back must not answer 503 for the rest of
  // its window.
  std::atomic<int> ok{0}, failed{0};
  for (int burst = 0; burst < 3; ++burst)
    run_together(16,
                 [&](int) { (fcgi_get(port, "/setSession.php").status == 200 ? ok : failed)++; });
  const std::string log = stack.fpm_log();
  INFO(log);
  CHECK(failed == 0);
  CHECK(ok == 48);
  CHECK(count_of(log, "memcached unreachable") == 1);
  CHECK(count_of(log, "memcached reachable again") == 1);
}

TEST_CASE("session outage: a silent memcached costs one memcached_timeout per request",
          "[session][outage][memcached]") {
  SilentListener silent = silent_listener();
  Stack stack({[&](ConfigKeys& pool) {
    set_key(pool, "session.save_path", "\"tcp://127.0.0.1:" + std::to_string(silent.port) + "\"");
    set_key(pool, "session.memcached_timeout", "300ms");
  }});
  for (int i = 0; i < 6; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = fcgi_get(stack.fpm_port(), "/setSession.php");
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO(r.stdout_data);
    CHECK(r.status == 503);
    CHECK(took < 1200ms);
  }
  const std::string log = stack.fpm_log();
  INFO(log);
  CHECK(count_of(log, "memcached unreachable") == 1);
}
