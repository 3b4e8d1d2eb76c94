// nginx keeps FastCGI connections open (`fastcgi_keep_conn on` with an
// upstream `keepalive`). Idle kept-open connections must wait in the event
// loop, not in a worker thread: otherwise a few idle connections starve the
// pool and new requests hang.
#include <catch2/catch.hpp>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

void small_pool(ConfigKeys& pool) {
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", "2");
}

// Opens `count` connections, finishes one keep-conn request on each and
// leaves them open and idle.
std::vector<std::unique_ptr<FcgiClient>> idle_connections(Stack& stack, int count) {
  std::vector<std::unique_ptr<FcgiClient>> idle;
  for (int i = 0; i < count; ++i) {
    idle.push_back(std::make_unique<FcgiClient>(stack.fpm_port()));
    auto r = idle.back()->request(nginx_params("/setSession.php"), {}, true, 1, 5s);
    INFO("connection " << i << "; log:\n" << stack.fpm_log());
    REQUIRE(r.ended);
    REQUIRE(parse_set_session(r.body));
  }
  return idle;
}

void expect_prompt_answer(Stack& stack, Millis within) {
  Stopwatch watch;
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php", {}, 5s);
  auto took = watch.elapsed();
  INFO("took " << took.count() << " ms; log:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  CHECK(parse_set_session(r.body));
  CHECK(took < within);
}

}  // namespace

TEST_CASE("keep-alive: idle kept-open connections do not pin worker threads", "[keepalive]") {
  Stack stack({small_pool});  // 1 child x 2 threads
  auto idle = idle_connections(stack, 10);
  expect_prompt_answer(stack, 1s);
  // The idle connections are still usable, each for another request.
  for (std::size_t i = 0; i < idle.size(); ++i) {
    INFO("connection " << i);
    auto r = idle[i]->request(nginx_params("/showSession.php"), {}, true, 1, 5s);
    REQUIRE(r.ended);
    CHECK(r.body == "bool(false)\n");
  }
}

TEST_CASE("keep-alive: 50 idle connections do not delay a new one", "[keepalive]") {
  Stack stack;
  auto idle = idle_connections(stack, 50);
  for (int i = 0; i < 5; ++i) expect_prompt_answer(stack, 1s);
}

TEST_CASE("keep-alive: half-sent requests do not pin worker threads", "[keepalive]") {
  Stack stack({small_pool});
  std::vector<std::unique_ptr<FcgiClient>> stalled;
  for (int i = 0; i < 10; ++i) {
    stalled.push_back(std::make_unique<FcgiClient>(stack.fpm_port()));
    std::string bytes =
        fcgi::record(fcgi::begin_request, 1,
                     fcgi::begin_request_body(fcgi::role_responder, fcgi::flag_keep_conn));
    bytes += fcgi::record(fcgi::params, 1, fcgi::name_value("SCRIPT_NAME", "/setSession.php"));
    if (i % 2) bytes += fcgi::header(1, fcgi::params, 1, 64, 0).substr(0, 4);  // mid-header
    stalled.back()->send_raw(bytes);
  }
  expect_prompt_answer(stack, 1s);
}

TEST_CASE("keep-alive: FCGI_KEEP_CONN serves many requests on one connection", "[keepalive]") {
  Stack stack;
  FcgiClient client(stack.fpm_port());
  std::string cookie;
  std::int64_t timestamp = 0;
  for (std::uint16_t i = 1; i <= 20; ++i) {
    INFO("request " << i);
    auto r = client.request(nginx_params("/setSession.php", cookie), {}, true, i, 5s);
    REQUIRE(r.ended);
    auto page = parse_set_session(r.body);
    REQUIRE(page);
    if (cookie.empty()) {
      cookie = "PHPSESSID=" + page->id;
      timestamp = page->timestamp;
    }
    CHECK("PHPSESSID=" + page->id == cookie);
    CHECK(page->timestamp == timestamp);
  }
  CHECK_FALSE(client.closed_by_server(200ms));
}

TEST_CASE("keep-alive: without FCGI_KEEP_CONN the server closes after the answer", "[keepalive]") {
  // Spec section 5.1: flags & FCGI_KEEP_CONN == 0 means the application
  // closes the connection after responding.
  Stack stack;
  FcgiClient client(stack.fpm_port());
  auto r = client.request(nginx_params("/testMySQL.php"), {}, false, 1, 5s);
  REQUIRE(r.ended);
  CHECK(r.body == "<h1>connect success</h1>");
  CHECK(client.closed_by_server(2s));
}
