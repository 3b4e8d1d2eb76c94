// Kept-open connections (FCGI_KEEP_CONN, nginx's upstream keepalive) wait
// in the child's event loop, so they never pin a worker thread: a pool of
// one child with two threads serves new connections promptly however many
// idle connections it holds, directly and through real nginx.
#include <catch2/catch.hpp>

#include "support/http_client.h"
#include "support/nginx.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

ConfigKeys one_child_two_threads() {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", "2");
  return pool;
}

}  // namespace

TEST_CASE(
    "keep-alive: 20 idle kept connections do not delay a new connection (1 child x 2 threads)",
    "[pm][keepalive]") {
  PmServer fpm(one_child_two_threads());
  REQUIRE(fpm.wait_children(1, 3s));
  std::vector<std::unique_ptr<PmClient>> idle;
  for (int i = 0; i < 20; ++i) {
    idle.push_back(std::make_unique<PmClient>(fpm.endpoint));
    auto r = idle.back()->request(nginx_params("/setSession.php"), true, 1, 3s);
    INFO("kept connection " << i << "\nlog:\n" << fpm.log());
    REQUIRE(r.ended);
    REQUIRE(r.status == 200);
  }
  for (int i = 0; i < 3; ++i) {
    Stopwatch watch;
    auto r = fpm.get("/setSession.php", {}, 3s);
    INFO("new connection " << i << " took " << watch.elapsed().count() << " ms");
    CHECK(r.status == 200);
    CHECK(watch.elapsed() < 1000ms);
  }
  // Still usable, each for its second request, and none was closed.
  for (std::size_t i = 0; i < idle.size(); ++i) {
    INFO("kept connection " << i);
    auto r = idle[i]->request(nginx_params("/ping"), true, 2, 3s);
    CHECK(r.body == "pong");
  }
  CHECK(fpm.status()["accepted conn"] == "24");
}

TEST_CASE("keep-alive through nginx (keepalive upstream, fastcgi_keep_conn on): no stall, no error",
          "[pm][keepalive][nginx]") {
  PmServer fpm(one_child_two_threads());
  REQUIRE(fpm.wait_children(1, 3s));
  TempDir nginx_dir("cppfpm-pm-nginx-");
  Nginx nginx(nginx_dir.path(), fpm.endpoint.port);

  // Sequential requests on fresh client connections reuse nginx's kept
  // upstream connections.
  for (int i = 0; i < 30; ++i) {
    Stopwatch watch;
    auto r = http_get(nginx.port(), "/setSession.php", {}, 3s);
    INFO("request " << i << "\nnginx:\n" << nginx.error_log());
    REQUIRE(r.status == 200);
    CHECK(watch.elapsed() < 1000ms);
  }
  // Then 8 clients at once, several upstream connections kept by nginx.
  std::atomic<int> ok{0}, slow{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        Stopwatch watch;
        auto r = http_get(nginx.port(), "/showSession.php", {}, 3s);
        if (r.status == 200) ++ok;
        if (watch.elapsed() >= 1000ms) ++slow;
      }
    });
  for (auto& t : clients) t.join();
  std::string errors = nginx.error_log();
  INFO("nginx error log:\n" << errors << "\ncppfpm log:\n" << fpm.log());
  CHECK(ok == 80);
  CHECK(slow == 0);
  CHECK(errors.find("upstream timed out") == std::string::npos);
  CHECK(errors.find("prematurely closed") == std::string::npos);
  CHECK(errors.find("[error]") == std::string::npos);
  // nginx kept its upstream connections: far fewer than requests.
  CHECK(std::stoi(fpm.status()["accepted conn"]) <= 20);
}
