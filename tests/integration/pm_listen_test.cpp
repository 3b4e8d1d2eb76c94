// Listening as php-fpm: any loopback host:port, listen.allowed_clients,
// unix sockets with listen.mode, listen.backlog and the listen queue the
// status page reads from the kernel.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include "support/pm_server.h"

using namespace cppfpm::test;

TEST_CASE(
    "listen.allowed_clients: other addresses are closed at once and logged, allowed ones served",
    "[pm][listen]") {
  // All of 127.0.0.0/8 is loopback on Linux.
  Endpoint at{"127.0.0.2", free_loopback_port(), {}};
  auto pool = pm_pool(at);
  set_key(pool, "listen.allowed_clients", "127.0.0.1");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));

  PmClient stranger(at, "127.0.0.3");
  stranger.send_request(nginx_params("/ping"), false, 1);
  Stopwatch watch;
  std::string answer = read_until_eof(stranger.fd(), 2s);
  INFO("log:\n" << fpm.log());
  CHECK(answer.empty());
  CHECK(watch.elapsed() < 500ms);
  CHECK(wait_until([&] { return fpm.log_count("IP address '127.0.0.3' has been dropped") == 1; },
                   1s));

  PmClient friendly(at, "127.0.0.1");
  auto r = friendly.request(nginx_params("/setSession.php"), false, 1, 5s);
  CHECK(r.status == 200);
  CHECK(r.body.find("Session ID: ") != std::string::npos);
  // The dropped connection is not an accepted one.
  CHECK(fpm.status()["accepted conn"] == "2");
}

TEST_CASE("listen on a unix socket with listen.mode", "[pm][listen]") {
  TempDir sockets("cppfpm-pm-sock-");
  Endpoint at{"", 0, sockets / "fpm.sock"};
  auto pool = pm_pool(at);
  set_key(pool, "listen.mode", "0600");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));

  struct stat st {};
  REQUIRE(::stat(at.unix_path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);

  auto r = pm_get(at, "/setSession.php");
  CHECK(r.status == 200);
  CHECK(r.body.find("Session ID: ") != std::string::npos);
  CHECK(pm_get(at, "/ping").body == "pong");
  auto status = parse_status_text(pm_get(at, "/status").body);
  CHECK(status["accepted conn"] == "3");
  CHECK(status["listen queue"] == "0");

  // A fast stop removes nothing the next start cannot replace.
  fpm.process().stop();
  PmServer again(pool);
  CHECK(pm_get(at, "/ping").body == "pong");
}

TEST_CASE("listen.backlog is the status page's listen queue len", "[pm][listen]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "listen.backlog", "17");
  PmServer fpm(pool);
  CHECK(fpm.status()["listen queue len"] == "17");
}

TEST_CASE("listen queue: connections waiting in the kernel show in the status page",
          "[pm][listen]") {
  auto pool = one_child_pool(loopback_endpoint(), 1);
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");

  auto slow = slow_request(fpm.endpoint, 1500);
  std::this_thread::sleep_for(300ms);
  // The only worker thread is busy: these wait in the listen queue.
  std::vector<Fd> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(pm_connect(fpm.endpoint));
  std::this_thread::sleep_for(100ms);
  auto r = kept.request(nginx_params("/status"), true, 2, 2s);
  INFO("status:\n" << r.stdout_data);
  auto fields = parse_status_text(r.body);
  CHECK(fields["listen queue"] == "3");
  CHECK(std::stoi(fields["max listen queue"]) >= 3);
  CHECK(slow.get().body == "slept 1500\n");
}
