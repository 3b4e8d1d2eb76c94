// Listening as php-fpm: any loopback host:port, listen.allowed_clients,
// unix sockets with listen.mode, listen.backlog and the listen queue the
// status page reads from the kernel.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <cerrno>

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

TEST_CASE("listen.allowed_clients with no valid address: a warning and every client refused",
          "[pm][listen]") {
  Endpoint at = loopback_endpoint();
  auto pool = pm_pool(at);
  set_key(pool, "listen.allowed_clients", "example.org, 127.0.0.1.5");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  PmClient client(at, "127.0.0.1");
  client.send_request(nginx_params("/ping"), false, 1);
  INFO("log:\n" << fpm.log());
  CHECK(read_until_eof(client.fd(), 2s).empty());
  CHECK(fpm.log_count("Wrong IP address 'example.org' in listen.allowed_clients") == 1);
  CHECK(fpm.log_count("Wrong IP address '127.0.0.1.5' in listen.allowed_clients") == 1);
  CHECK(fpm.log_count("There are no allowed addresses") == 1);
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

TEST_CASE("listen.acl_users and listen.acl_groups: a POSIX ACL on the unix socket as php-fpm sets",
          "[pm][listen]") {
  TempDir sockets("cppfpm-pm-sock-");
  Endpoint at{"", 0, sockets / "fpm.sock"};
  auto pool = pm_pool(at);
  set_key(pool, "listen.acl_users", "nobody, 4242");
  set_key(pool, "listen.acl_groups", "daemon");
  set_key(pool, "listen.owner", "nobody");  // ignored with a warning, as php-fpm
  PmServer fpm(pool);
  INFO("log:\n" << fpm.log());
  CHECK(fpm.log_count("[pool www] ACL set, listen.owner = 'nobody' is ignored") == 1);
  struct stat st {};
  REQUIRE(::stat(at.unix_path.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);  // not chowned to nobody
  char buf[256];
  ssize_t n = ::getxattr(at.unix_path.c_str(), "system.posix_acl_access", buf, sizeof buf);
  if (n < 0 && errno == EOPNOTSUPP) {
    WARN("no POSIX ACLs where the test's sockets live");
    return;
  }
  REQUIRE(n > 0);
  // version 2; user::rw-, user:4242:rw-, user:nobody(65534):rw-, group::rw-,
  // group:daemon(1):rw-, mask::rw-, other::---
  std::string acl(buf, static_cast<std::size_t>(n));
  auto entry = [&](int i) {
    const unsigned char* e = reinterpret_cast<const unsigned char*>(acl.data()) + 4 + 8 * i;
    return std::to_string(e[0] | e[1] << 8) + ":" + std::to_string(e[2]) + ":" +
           std::to_string(static_cast<std::uint32_t>(e[4] | e[5] << 8 | e[6] << 16) |
                          static_cast<std::uint32_t>(e[7]) << 24);
  };
  REQUIRE(acl.size() == 4 + 7 * 8);
  std::string got;
  for (int i = 0; i < 7; ++i) got += entry(i) + " ";
  CHECK(got ==
        "1:6:4294967295 2:6:4242 2:6:65534 4:6:4294967295 8:6:1 16:6:4294967295 "
        "32:0:4294967295 ");
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
  std::uint16_t id = 1;
  REQUIRE(wait_serving(kept, id));  // asked on `kept`: no connection of its own
  // The only worker thread is busy: these wait in the listen queue.
  std::vector<Fd> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(pm_connect(fpm.endpoint));
  std::this_thread::sleep_for(100ms);
  auto r = kept.request(nginx_params("/status"), true, ++id, 2s);
  INFO("status:\n" << r.stdout_data);
  auto fields = parse_status_text(r.body);
  CHECK(fields["listen queue"] == "3");
  CHECK(std::stoi(fields["max listen queue"]) >= 3);
  CHECK(slow.get().body == "slept 1500\n");
}
