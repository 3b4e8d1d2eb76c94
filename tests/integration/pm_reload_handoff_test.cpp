// A reload (SIGUSR2) hands the old children's kept connections to the new
// generation instead of closing them (server/fastcgi/handoff.h). nginx keeps
// upstream connections for as long as it likes and may write a request on
// one at any moment; a connection closed by an old child at that moment
// costs a POST (nginx retries none). Here a FastCGI client plays nginx: it
// holds kept connections across the reload and sends POSTs on exactly those
// connections, at once and after the old children are gone, past the
// moment an old child would have closed them idle.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <memory>
#include <thread>

#include "support/fcgi_client.h"
#include "support/net.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// The params nginx sends for a form POST of `length` bytes.
Params post_params(std::size_t length) {
  Params params = nginx_params("/__test/sleep.php", {}, "ms=0");
  for (auto& [name, value] : params) {
    if (name == "REQUEST_METHOD") value = "POST";
    if (name == "CONTENT_TYPE") value = "application/x-www-form-urlencoded";
    if (name == "CONTENT_LENGTH") value = std::to_string(length);
  }
  return params;
}

bool any_alive(const std::vector<pid_t>& pids, const std::vector<pid_t>& children) {
  return std::any_of(pids.begin(), pids.end(), [&](pid_t pid) {
    return std::find(children.begin(), children.end(), pid) != children.end();
  });
}

void kept_connections_survive_reload(ConfigKeys pool, std::size_t children) {
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(children, 5s));
  const std::string body = "a=" + std::string(2048, 'x');
  const Params params = post_params(body.size());
  auto post = [&](FcgiClient& client) { return client.request(params, body, true, 1, 10s); };

  constexpr int kConnections = 24;
  std::vector<std::unique_ptr<FcgiClient>> connections;
  for (int i = 0; i < kConnections; ++i) {
    connections.push_back(std::make_unique<FcgiClient>(fpm.endpoint.port));
    FcgiResponse first = post(*connections.back());
    REQUIRE(first.ended);
    REQUIRE(first.status == 200);
  }
  const std::vector<pid_t> old_children = fpm.children();
  REQUIRE(!old_children.empty());

  fpm.process().signal(SIGUSR2);
  // A third of them bring a request while the reload is under way.
  int failed = 0;
  for (int i = 0; i < kConnections; i += 3) {
    FcgiResponse during = post(*connections[static_cast<std::size_t>(i)]);
    if (!during.ended || during.status != 200) ++failed;
  }
  INFO("log:\n" << fpm.log());
  CHECK(failed == 0);
  REQUIRE(fpm.wait_ready(2, 10s));
  // Nothing keeps the old children: they hand their connections over and
  // exit (before, an idle kept connection held one up to 1 s, at most 10 s).
  CHECK(wait_until([&] { return !any_alive(old_children, fpm.children()); }, 5s));
  // Past the moment an old child closed a kept connection left idle (1 s):
  // every connection is still open, answered by the new generation (the old
  // one is gone).
  std::this_thread::sleep_for(1500ms);
  REQUIRE_FALSE(any_alive(old_children, fpm.children()));
  failed = 0;
  for (auto& connection : connections) {
    FcgiResponse after = post(*connection);
    if (!after.ended || after.status != 200) ++failed;
  }
  CHECK(failed == 0);
  CHECK(fpm.log_count("kept connection(s) over to the next generation") >= 1);
}

}  // namespace

TEST_CASE("SIGUSR2: kept connections idle across a reload are handed over, not closed",
          "[pm][signals][reload][keepalive]") {
  auto pool = pm_pool(loopback_endpoint());
  kept_connections_survive_reload(pool, 2);
}

TEST_CASE("SIGUSR2 with pm = ondemand: handed kept connections make the new master start a child",
          "[pm][signals][reload][keepalive][ondemand]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm", "ondemand");
  set_key(pool, "pm.max_children", "2");
  set_key(pool, "pm.process_idle_timeout", "30s");
  kept_connections_survive_reload(pool, 0);
}
