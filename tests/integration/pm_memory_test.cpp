// Memory that comes back: a child that read big request bodies returns to
// about its resting size afterwards, a body declared past the limit is
// refused before it is read, and pm.max_memory recycles a child whose
// resident memory passes it once its requests are answered.
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <sstream>

#include "support/fcgi_client.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// VmRSS or VmHWM of `pid` in KiB (0 when gone).
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return 0;
}

// A POST of `body` to `script` as nginx sends it; CONTENT_LENGTH only when
// `declared` (else the body is streamed with no length, as a chunked one).
Params post_params(const std::string& script, std::size_t length, bool declared) {
  Params params = nginx_params(script);
  for (auto& [name, value] : params) {
    if (name == "REQUEST_METHOD") value = "POST";
    if (name == "CONTENT_LENGTH") value = declared ? std::to_string(length) : "";
  }
  return params;
}

// `n` POSTs of `bytes` at once, each on its own connection; their statuses.
std::vector<int> post_at_once(int port, int n, std::size_t bytes, bool declared,
                              const std::string& script = "/__test/sleep",
                              const std::string& query = "ms=200") {
  const std::string body(bytes, 'b');
  std::vector<std::future<int>> posts;
  for (int i = 0; i < n; ++i)
    posts.push_back(std::async(std::launch::async, [&] {
      FcgiClient client(port);
      Params params = post_params(script, bytes, declared);
      for (auto& [name, value] : params)
        if (name == "QUERY_STRING") value = query;
      return client.request(params, body, false, 1, 30s).status;
    }));
  std::vector<int> statuses;
  for (auto& p : posts) statuses.push_back(p.get());
  return statuses;
}

ConfigKeys one_child(int threads) {
  auto pool = one_child_pool(loopback_endpoint(), threads);
  return pool;
}

}  // namespace

TEST_CASE("memory: after 8 concurrent big bodies a child's RSS comes back", "[pm][memory]") {
  PmServer fpm(one_child(8));
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();
  REQUIRE(fpm.get("/ping").body == "pong");
  long rest = status_kib(child, "VmRSS");
  REQUIRE(rest > 0);

  // Declared and streamed bodies just under the 8 MiB limit, twice over,
  // so the second round would find the first round's pages if kept.
  for (int round = 0; round < 2; ++round) {
    for (bool declared : {true, false}) {
      auto statuses = post_at_once(fpm.endpoint.port, 8, 7 * 1024 * 1024, declared);
      for (int s : statuses) CHECK(s == 200);
    }
  }
  long peak = status_kib(child, "VmHWM");
  // The bodies were held at once (so the check below can fail)...
  CHECK(peak - rest > 40 * 1024);
  // ...and given back.
  long after = 0;
  bool back = wait_until(
      [&] {
        after = status_kib(child, "VmRSS");
        return after < rest + 16 * 1024;
      },
      3s, 100ms);
  INFO("RSS at rest " << rest << " KiB, peak " << peak << " KiB, after " << after << " KiB");
  CHECK(back);
  CHECK(fpm.children().front() == child);
}

TEST_CASE("memory: a body declared past the limit is answered 413 before it is read",
          "[pm][memory]") {
  PmServer fpm(one_child(8));
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();
  REQUIRE(fpm.get("/ping").body == "pong");
  long rest = status_kib(child, "VmRSS");
  // 100 MiB declared, a few bytes sent: the answer comes without the rest.
  std::vector<std::future<int>> posts;
  for (int i = 0; i < 8; ++i)
    posts.push_back(std::async(std::launch::async, [&] {
      FcgiClient client(fpm.endpoint.port);
      Params params = post_params("/__test/sleep", 100u << 20, true);
      if (!client.send_request(params, std::string(4096, 'b'), false, 1)) return -1;
      return client.read_response(1, 5s).status;
    }));
  for (auto& p : posts) CHECK(p.get() == 413);
  long peak = status_kib(child, "VmHWM");
  INFO("RSS at rest " << rest << " KiB, peak " << peak << " KiB");
  CHECK(peak < rest + 8 * 1024);
}

TEST_CASE("pm.max_memory: a child past it finishes its requests and is replaced", "[pm][memory]") {
  auto pool = one_child(8);
  set_key(pool, "pm.max_memory", "40M");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();
  REQUIRE(fpm.get("/ping").body == "pong");
  // 8 x 7 MiB held for 800 ms: the child passes 40 MiB while serving them.
  auto statuses =
      post_at_once(fpm.endpoint.port, 8, 7 * 1024 * 1024, true, "/__test/sleep", "ms=800");
  for (int s : statuses) CHECK(s == 200);
  INFO("log:\n" << fpm.log());
  CHECK(wait_until([&] { return !pid_alive(child); }, 5s));
  CHECK(fpm.log_count("over pm.max_memory") == 1);
  REQUIRE(fpm.wait_children(1, 5s));
  CHECK(fpm.children().front() != child);
  CHECK(fpm.get("/ping").body == "pong");
}

TEST_CASE("pm.max_memory: a child under it is left alone", "[pm][memory]") {
  auto pool = one_child(2);
  set_key(pool, "pm.max_memory", "512M");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();
  auto statuses = post_at_once(fpm.endpoint.port, 2, 1024 * 1024, true);
  for (int s : statuses) CHECK(s == 200);
  std::this_thread::sleep_for(600ms);  // two ticks of the check
  CHECK(fpm.children() == std::vector<pid_t>{child});
  CHECK(fpm.log_count("over pm.max_memory") == 0);
}
