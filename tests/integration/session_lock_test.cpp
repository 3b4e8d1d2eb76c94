// Session locking on a real memcached, with pecl-memcache's keys: parallel
// requests on one session serialize (a counter incremented N times in
// parallel ends at N), the lock is `<id>.lock` (flags 768, the owner's
// integer token while held, gone after), a lock whose holder died expires, and a lock held too long
// gives a 503 after session.lock_wait.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

struct Count {
  long n = -1;
  std::string id;
};

Count parse_count(const std::string& body) {
  Count c;
  const auto space = body.find(' ');
  if (space == std::string::npos) return c;
  try {
    c.n = std::stol(body.substr(0, space));
  } catch (const std::exception&) {
    return c;
  }
  c.id = body.substr(space + 1);
  return c;
}

FcgiResponse counter(int port, const std::string& cookie, const std::string& query = {}) {
  FcgiClient client(port);
  return client.request(nginx_params("/__test/counter", cookie, query), {}, false, 1, 60s);
}

}  // namespace

TEST_CASE("session lock: 24 parallel increments of one session end at 24",
          "[session][lock][memcached]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "pm.max_children", "3");
    set_key(pool, "pm.threads_per_child", "8");
  }});
  const int port = stack.fpm_port();
  auto first = counter(port, "");
  REQUIRE(first.status == 200);
  const Count start = parse_count(first.body);
  REQUIRE(start.n == 1);
  const std::string cookie = "PHPSESSID=" + start.id;
  const std::string lock_key = start.id + ".lock";
  CHECK_FALSE(memcached_get(stack.memcached.port(), lock_key));
  {
    // pecl-memcache's lock key while a request holds the session: an
    // integer (PHP's type flags), the owner's token (session/lock_token.h).
    std::thread slow([&] { counter(port, cookie, "ms=1500"); });
    std::this_thread::sleep_for(500ms);
    const auto value = memcached_get(stack.memcached.port(), lock_key);
    REQUIRE(value);
    CHECK(value->size() == 19);
    CHECK(value->find_first_not_of("0123456789") == std::string::npos);
    CHECK(memcached_flags(stack.memcached.port(), lock_key) == std::optional<std::uint32_t>(768));
    slow.join();
    CHECK_FALSE(memcached_get(stack.memcached.port(), lock_key));
  }

  constexpr int kParallel = 24;
  std::vector<FcgiResponse> answers(kParallel);
  std::vector<std::thread> clients;
  std::atomic<bool> go{false};
  for (int i = 0; i < kParallel; ++i)
    clients.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      answers[i] = counter(port, cookie, "ms=20");
    });
  go = true;
  // While they run, the lock is there (between two holders it may not be).
  bool held = false;
  for (int i = 0; i < 30 && !held; ++i) {
    held = memcached_get(stack.memcached.port(), lock_key).has_value();
    std::this_thread::sleep_for(10ms);
  }
  for (auto& c : clients) c.join();
  CHECK(held);

  std::set<long> seen;
  for (const auto& r : answers) {
    INFO(r.stdout_data);
    CHECK(r.status == 200);
    seen.insert(parse_count(r.body).n);
  }
  CHECK(seen.size() == kParallel);  // each increment saw its own value
  const auto last = counter(port, cookie);
  CHECK(parse_count(last.body).n == kParallel + 3);
  CHECK(memcached_get(stack.memcached.port(), start.id) ==
        std::optional<std::string>("n|i:" + std::to_string(kParallel + 3) + ";"));
  CHECK_FALSE(memcached_get(stack.memcached.port(), lock_key));
}

TEST_CASE("session lock: a dead holder's lock expires and a live one gives 503 after lock_wait",
          "[session][lock][memcached]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "session.lock_wait", "4s");
    set_key(pool, "session.lock_expire", "15s");
  }});
  const int port = stack.fpm_port();
  auto first = counter(port, "");
  REQUIRE(first.status == 200);
  const Count start = parse_count(first.body);
  const std::string cookie = "PHPSESSID=" + start.id;

  // A PHP request died holding the lock; pecl-memcache gave it a lifetime.
  REQUIRE(memcached_set(stack.memcached.port(), start.id + ".lock", "1", 2));
  auto t0 = std::chrono::steady_clock::now();
  auto waited = counter(port, cookie);
  auto took = std::chrono::steady_clock::now() - t0;
  INFO(waited.stdout_data);
  CHECK(waited.status == 200);
  CHECK(parse_count(waited.body).n == 2);
  CHECK(took >= 1s);
  CHECK(took < 4s);

  // A lock value that is not a number is a held lock too, not an outage.
  REQUIRE(memcached_set(stack.memcached.port(), start.id + ".lock", "not a number", 2));
  auto odd = counter(port, cookie);
  INFO(odd.stdout_data);
  CHECK(odd.status == 200);
  CHECK(parse_count(odd.body).n == 3);
  CHECK(stack.fpm_log().find("memcached unreachable") == std::string::npos);

  // Held for longer than lock_wait: a clear 503, and the holder keeps it.
  REQUIRE(memcached_set(stack.memcached.port(), start.id + ".lock", "1", 30));
  t0 = std::chrono::steady_clock::now();
  auto busy = counter(port, cookie);
  took = std::chrono::steady_clock::now() - t0;
  INFO(busy.stdout_data);
  CHECK(busy.status == 503);
  CHECK(busy.header("Retry-After") == std::optional<std::string>("1"));
  CHECK(took >= 3500ms);
  CHECK(took < 6s);
  CHECK(memcached_get(stack.memcached.port(), start.id + ".lock") !=
        std::optional<std::string>("0"));
  CHECK(memcached_get(stack.memcached.port(), start.id) == std::optional<std::string>("n|i:3;"));
}
