// Process lifetime as php-fpm users expect it: SIGTERM stops the master and
// every child, and the port is released.
#include <sys/wait.h>
#include <catch2/catch.hpp>
#include <thread>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

TEST_CASE("SIGTERM stops cppfpm and all its children, and frees the port", "[lifecycle]") {
  Stack stack;
  REQUIRE(parse_set_session(fcgi_get(stack.fpm_port(), "/setSession.php").body));
  auto children = stack.fpm->process().children();
  stack.fpm->process().signal(SIGTERM);
  auto status = stack.fpm->process().wait_exit(10s);
  INFO("log:\n" << stack.fpm_log());
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  Stopwatch watch;
  for (pid_t child : children) {
    while (pid_alive(child) && watch.elapsed() < 5s) std::this_thread::sleep_for(20ms);
    CHECK_FALSE(pid_alive(child));
  }
  CHECK_FALSE(port_accepts(stack.fpm_port()));
}

TEST_CASE("SIGTERM while requests are in flight still stops everything", "[lifecycle]") {
  Stack stack;
  std::vector<std::unique_ptr<FcgiClient>> open;
  for (int i = 0; i < 8; ++i) {
    open.push_back(std::make_unique<FcgiClient>(stack.fpm_port()));
    open.back()->send_request(nginx_params("/testMySQL.php"), {}, true, 1);
  }
  auto children = stack.fpm->process().children();
  stack.fpm->process().signal(SIGTERM);
  INFO("log:\n" << stack.fpm_log());
  REQUIRE(stack.fpm->process().wait_exit(10s));
  Stopwatch watch;
  for (pid_t child : children) {
    while (pid_alive(child) && watch.elapsed() < 5s) std::this_thread::sleep_for(20ms);
    CHECK_FALSE(pid_alive(child));
  }
}

TEST_CASE("a session outlives the cppfpm that created it (memcached keeps it)",
          "[lifecycle][session]") {
  // The seed's session保持: a backend dies, the next one finds the session.
  Stack stack;
  auto first = fcgi_get(stack.fpm_port(), "/setSession.php");
  auto page = parse_set_session(first.body);
  REQUIRE(page);
  stack.fpm.reset();
  Cppfpm again(stack.dir / "again", stack.pool);
  auto r = fcgi_get(again.port(), "/setSession.php", "PHPSESSID=" + page->id);
  INFO("log:\n" << again.log());
  auto second = parse_set_session(r.body);
  REQUIRE(second);
  CHECK(second->id == page->id);
  CHECK(second->timestamp == page->timestamp);
}
