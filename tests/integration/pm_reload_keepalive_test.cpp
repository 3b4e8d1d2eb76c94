// A reload (SIGUSR2) under POST load through nginx with upstream keepalive
// loses no request. nginx takes a kept connection from its cache and writes
// on it; if an old child closes it at that moment, nginx answers 502
// ("upstream prematurely closed connection") and retries no POST. Old
// children hand their kept connections to the new generation (or close one
// only right after answering on it). Clients pause about a second now and
// then, so nginx leaves some cached connections unused for that long, the
// moment an old child used to close them idle.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "support/http_client.h"
#include "support/net.h"
#include "support/nginx.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// POST `body` to `path` on nginx with `Connection: close`; the status, 0
// when no answer came.
int http_post(int port, const std::string& path, const std::string& body) {
  Fd fd = connect_loopback(port);
  std::string request = "POST " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: cppfpm-tests\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Connection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!send_all(fd.get(), request)) return 0;
  std::string raw = read_until_eof(fd.get(), 10s);
  if (raw.compare(0, 5, "HTTP/") != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.c_str() + 9);
}

}  // namespace

TEST_CASE("SIGUSR2 x5 under POST load through nginx with upstream keepalive: no request fails",
          "[pm][signals][reload][keepalive][nginx]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.threads_per_child", "4");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  TempDir nginx_dir("cppfpm-reload-nginx-");
  Nginx nginx(nginx_dir.path(), fpm.endpoint.port);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mutex;
  std::map<int, int> by_status;
  std::vector<std::thread> clients;
  const std::string body(2048, 'x');
  for (int c = 0; c < 24; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        if (i % 40 == 39) std::this_thread::sleep_for(std::chrono::milliseconds(850 + 25 * c));
        // Short sleeps keep connections busy and idle in turn, as real
        // traffic does; every request is a POST (nginx retries none).
        std::string path = (i + c) % 3 == 0 ? "/__test/sleep.php?ms=3" : "/__test/sleep.php?ms=0";
        int status = 0;
        try {
          status = http_post(nginx.port(), path, "a=" + body);
        } catch (const std::exception&) {
          status = 0;
        }
        if (status == 200) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(mutex);
          ++by_status[status];
        }
      }
    });
  auto wait_ok = [&](int more) {
    int target = ok.load() + more;
    return wait_until([&] { return ok.load() >= target; }, 10s);
  };
  REQUIRE(wait_ok(300));
  for (int reload = 1; reload <= 5; ++reload) {
    fpm.process().signal(SIGUSR2);
    INFO("reload " << reload << "\nlog:\n" << fpm.log());
    REQUIRE(fpm.wait_ready(static_cast<std::size_t>(reload) + 1, 10s));
    // Long enough for the clients' pauses and the old children's drain,
    // and at least 1000 more answers (about 20 s in all here).
    std::this_thread::sleep_for(3s);
    REQUIRE(wait_ok(1000));
  }
  stop = true;
  for (auto& t : clients) t.join();

  std::string statuses;
  for (auto [status, count] : by_status)
    statuses += std::to_string(status) + ": " + std::to_string(count) + "\n";
  std::string errors = nginx.error_log();
  INFO("ok " << ok << ", failed " << failed << "\n"
             << statuses << "nginx error log:\n"
             << errors.substr(0, 4000));
  CHECK(ok > 5000);
  // The old children handed their kept connections over, none closed idle.
  CHECK(fpm.log_count("over to the next generation") >= 1);
  CHECK(failed == 0);
  CHECK(errors.find("prematurely closed") == std::string::npos);
  CHECK(errors.find("reset by peer") == std::string::npos);
}
