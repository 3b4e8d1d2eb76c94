// The bounded queue (issue 12, "Memory and queues"): once the whole pool is
// saturated (pm.max_children, every thread busy, pm.queue_per_child
// requests queued), a new request is answered 503 with Retry-After at once
// instead of waiting in the backlog until nginx gives up; a queued request
// that waits past pm.queue_timeout gets the same answer; once the load goes
// requests are served again. On a real build/cppfpm, and through nginx.
#include <catch2/catch.hpp>

#include <future>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/nginx.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// One child of two threads, two more requests queued.
ConfigKeys small_pool(const Endpoint& at, int threads, int queue) {
  ConfigKeys pool = one_child_pool(at, threads);
  set_key(pool, "pm.queue_per_child", std::to_string(queue));
  set_key(pool, "pm.reject_when_full", "yes");
  return pool;
}

// Waits until `n` requests are in the child: served or queued (the
// status page's listen queue counts the queued ones).
bool wait_queued(PmServer& fpm, int n) {
  return wait_until([&] { return fpm.status(2s)["listen queue"] == std::to_string(n); }, 5s, 50ms);
}

}  // namespace

TEST_CASE("queue: a saturated pool answers 503 with Retry-After at once, then serves again",
          "[pm][queue]") {
  PmServer fpm(small_pool(loopback_endpoint(), 2, 2));
  REQUIRE(fpm.wait_children(1, 3s));
  std::vector<std::future<FcgiResponse>> slow;
  for (int i = 0; i < 4; ++i) slow.push_back(slow_request(fpm.endpoint, 2000));
  REQUIRE(wait_queued(fpm, 2));

  // More clients than threads + queue, all at once: each is refused fast.
  std::vector<std::future<std::pair<FcgiResponse, Millis>>> extra;
  for (int i = 0; i < 6; ++i)
    extra.push_back(std::async(std::launch::async, [&] {
      Stopwatch watch;
      auto r = pm_get(fpm.endpoint, "/__test/sleep", "ms=10", 5s);
      return std::make_pair(r, watch.elapsed());
    }));
  for (auto& e : extra) {
    auto [r, took] = e.get();
    INFO("answer after " << took.count() << " ms:\n" << r.stdout_data);
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After") == "1");
    CHECK(r.ended);
    CHECK(r.protocol_status == 2);  // FCGI_OVERLOADED
    CHECK(took < 1000ms);           // ~1 ms idle; generous for a loaded box
  }
  // The status page still answers, and the queued ones are served.
  CHECK(fpm.status(2s)["listen queue"] == "2");
  for (auto& s : slow) CHECK(s.get().body == "slept 2000\n");
  auto after = pm_get(fpm.endpoint, "/__test/sleep", "ms=10", 5s);
  CHECK(after.status == 200);
  CHECK(after.body == "slept 10\n");
  // One WARNING line for the six, the rest counted into the next one.
  INFO("log:\n" << fpm.log());
  CHECK(fpm.log_count("server reached pm.max_children (1)") == 1);
  CHECK(fpm.log_count("WARNING") >= 1);
}

TEST_CASE("queue: a request queued past pm.queue_timeout is answered 503", "[pm][queue]") {
  auto pool = small_pool(loopback_endpoint(), 1, 1);
  set_key(pool, "pm.queue_timeout", "300ms");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  auto busy = slow_request(fpm.endpoint, 2500);
  REQUIRE(wait_serving(fpm));
  Stopwatch watch;
  auto r = pm_get(fpm.endpoint, "/__test/sleep", "ms=10", 5s);
  auto took = watch.elapsed();
  INFO("answer after " << took.count() << " ms:\n" << r.stdout_data << "\nlog:\n" << fpm.log());
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "1");
  CHECK(took >= 250ms);
  CHECK(took < 2000ms);
  CHECK(fpm.log_count("ms in the queue for a thread (pm.queue_timeout): answered 503") == 1);
  CHECK(busy.get().body == "slept 2500\n");
  CHECK(fpm.status(2s)["listen queue"] == "0");
}

TEST_CASE(
    "queue: a kept connection refused with 503 serves its next request; a body is read "
    "before the close",
    "[pm][queue][keepalive]") {
  PmServer fpm(small_pool(loopback_endpoint(), 1, 0));
  REQUIRE(fpm.wait_children(1, 3s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");
  auto busy = slow_request(fpm.endpoint, 1500);
  REQUIRE(wait_serving(fpm));

  auto refused = kept.request(nginx_params("/__test/sleep", {}, "ms=10"), true, 2, 3s);
  INFO(refused.stdout_data << "\nlog:\n" << fpm.log());
  CHECK(refused.status == 503);
  CHECK(refused.ended);
  CHECK_FALSE(kept.closed_by_server(100ms));
  // A POST whose body follows its head: answered, then closed cleanly.
  FcgiClient post(fpm.endpoint.port);
  Params params = nginx_params("/__test/sleep", {}, "ms=10");
  params.emplace_back("REQUEST_METHOD", "POST");
  params.emplace_back("CONTENT_LENGTH", "20000");
  auto posted = post.request(params, std::string(20000, 'b'), true, 1, 3s);
  CHECK(posted.status == 503);
  CHECK(posted.ended);
  CHECK(post.closed_by_server(3s));

  CHECK(busy.get().body == "slept 1500\n");
  auto again = kept.request(nginx_params("/__test/sleep", {}, "ms=10"), true, 3, 3s);
  CHECK(again.status == 200);
  CHECK(again.body == "slept 10\n");
}

TEST_CASE("queue: pm.reject_when_full = no leaves the extra connection in the backlog",
          "[pm][queue]") {
  auto pool = small_pool(loopback_endpoint(), 1, 0);
  set_key(pool, "pm.reject_when_full", "no");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  auto busy = slow_request(fpm.endpoint, 1000);
  REQUIRE(wait_serving(fpm));
  auto waits = pm_get(fpm.endpoint, "/__test/sleep", "ms=10", 5s);
  CHECK(waits.status == 200);
  CHECK(busy.get().body == "slept 1000\n");
}

TEST_CASE("queue: nginx passes the 503 and its Retry-After on", "[pm][queue][nginx]") {
  PmServer fpm(small_pool(loopback_endpoint(), 1, 0));
  REQUIRE(fpm.wait_children(1, 3s));
  TempDir nginx_dir("cppfpm-pm-queue-nginx-");
  Nginx nginx(nginx_dir.path(), fpm.endpoint.port);
  auto busy = std::async(std::launch::async, [&] {
    return http_get(nginx.port(), "/__test/sleep.php?ms=1500", {}, 5s);
  });
  REQUIRE(wait_serving(fpm));
  Stopwatch watch;
  auto refused = http_get(nginx.port(), "/__test/sleep.php?ms=10", {}, 5s);
  auto took = watch.elapsed();
  INFO("after " << took.count() << " ms: " << refused.body << "\nnginx:\n"
                << nginx.error_log() << "\ncppfpm:\n"
                << fpm.log());
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(took < 1000ms);
  CHECK(busy.get().status == 200);
  auto served = http_get(nginx.port(), "/__test/sleep.php?ms=10", {}, 5s);
  CHECK(served.status == 200);
  CHECK(nginx.error_log().find("prematurely closed") == std::string::npos);
}
