// Clients as they are on a real network: they vanish mid-request, abort,
// send bodies, ask management questions, arrive all at once.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

void small_pool(ConfigKeys& pool) {
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", "2");
}

std::vector<pid_t> sorted_children(Stack& stack) {
  auto children = stack.fpm->process().children();
  std::sort(children.begin(), children.end());
  return children;
}

void expect_serving(Stack& stack, Millis within = 2s) {
  INFO("log:\n" << stack.fpm_log());
  REQUIRE(stack.fpm->process().running());
  Stopwatch watch;
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php", {}, 5s);
  REQUIRE(r.ended);
  CHECK(parse_set_session(r.body));
  CHECK(watch.elapsed() < within);
}

}  // namespace

TEST_CASE("clients that vanish before the answer do not kill or pin workers", "[clients]") {
  Stack stack({small_pool});
  auto before = sorted_children(stack);
  for (int i = 0; i < 12; ++i) {
    FcgiClient client(stack.fpm_port());
    client.send_request(nginx_params("/__test/sleep", {}, "ms=50"), {}, i % 2 == 0, 1);
    if (i % 3 == 0) reset_on_close(client.fd());  // RST: the answer meets EPIPE/ECONNRESET
  }
  std::this_thread::sleep_for(400ms);  // every answer has been written into the void
  expect_serving(stack);
  CHECK(sorted_children(stack) == before);
}

TEST_CASE("busy workers: a new request waits for one and is answered", "[clients]") {
  Stack stack({small_pool});
  std::vector<std::unique_ptr<FcgiClient>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::make_unique<FcgiClient>(stack.fpm_port()));
    busy.back()->send_request(nginx_params("/__test/sleep", {}, "ms=600"), {}, false, 1);
  }
  std::this_thread::sleep_for(100ms);
  Stopwatch watch;
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php", {}, 10s);
  INFO("took " << watch.elapsed().count() << " ms; log:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  CHECK(parse_set_session(r.body));
  CHECK(watch.elapsed() < 3s);
  for (auto& client : busy) {
    auto slept = client->read_response(1, 5s);
    CHECK(slept.body == "slept 600\n");
  }
}

TEST_CASE("FCGI_ABORT_REQUEST on a running request ends it without harm", "[clients]") {
  Stack stack;
  auto before = sorted_children(stack);
  FcgiClient client(stack.fpm_port());
  client.send_request(nginx_params("/__test/sleep", {}, "ms=300"), {}, true, 1);
  std::this_thread::sleep_for(50ms);
  client.send_raw(fcgi::record(fcgi::abort_request, 1, {}));
  // Spec section 5.4: the application answers the abort with FCGI_END_REQUEST
  // (possibly after the output); a close is acceptable too.
  auto r = client.read_response(1, 5s);
  CHECK((r.ended || client.last_status() == ReadStatus::eof));
  expect_serving(stack);
  CHECK(sorted_children(stack) == before);
}

TEST_CASE("a request body on FCGI_STDIN is read in full, the connection stays usable",
          "[clients]") {
  Stack stack;
  FcgiClient client(stack.fpm_port());
  auto params = nginx_params("/setSession.php");
  for (auto& [name, value] : params) {
    if (name == "REQUEST_METHOD") value = "POST";
    if (name == "CONTENT_TYPE") value = "application/x-www-form-urlencoded";
    if (name == "CONTENT_LENGTH") value = std::to_string(1 << 20);
  }
  std::string body(1 << 20, 'b');
  auto first = client.request(params, body, true, 1, 10s);
  INFO("log:\n" << stack.fpm_log());
  REQUIRE(first.ended);
  auto page = parse_set_session(first.body);
  REQUIRE(page);
  // Leftover body bytes would be read as records of the next request.
  auto second =
      client.request(nginx_params("/setSession.php", "PHPSESSID=" + page->id), {}, true, 2, 5s);
  REQUIRE(second.ended);
  auto again = parse_set_session(second.body);
  REQUIRE(again);
  CHECK(again->id == page->id);
}

TEST_CASE("FCGI_GET_VALUES gets FCGI_GET_VALUES_RESULT or a close", "[clients]") {
  Stack stack;
  FcgiClient client(stack.fpm_port());
  std::string names = fcgi::name_value("FCGI_MAX_CONNS", "") +
                      fcgi::name_value("FCGI_MAX_REQS", "") +
                      fcgi::name_value("FCGI_MPXS_CONNS", "");
  client.send_raw(fcgi::record(fcgi::get_values, 0, names));
  auto reply = client.read_record(3s);
  if (reply) {
    CHECK(reply->type == fcgi::get_values_result);
    CHECK(reply->request_id == 0);
  } else {
    CHECK(client.last_status() == ReadStatus::eof);
  }
  expect_serving(stack);
}

TEST_CASE("100 clients at once all get their own session", "[clients]") {
  Stack stack;
  constexpr int clients = 100;
  std::vector<std::unique_ptr<FcgiClient>> open;
  for (int i = 0; i < clients; ++i) {
    open.push_back(std::make_unique<FcgiClient>(stack.fpm_port()));
    REQUIRE(open.back()->send_request(nginx_params("/setSession.php"), {}, false, 1));
  }
  Stopwatch watch;
  std::set<std::string> ids;
  for (auto& client : open) {
    auto r = client->read_response(1, 10s);
    auto page = parse_set_session(r.body);
    CHECK(page);
    if (page) ids.insert(page->id);
  }
  INFO("log:\n" << stack.fpm_log());
  CHECK(ids.size() == clients);
  CHECK(watch.elapsed() < 10s);
  std::set<std::string> stored;
  for (const auto& item : memcached_items(stack.memcached.port()))
    stored.insert(session_of_key(item.key));
  CHECK(stored == ids);
}
