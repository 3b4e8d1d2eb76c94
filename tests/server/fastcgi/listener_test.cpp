#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "server/fastcgi/listener.h"

using namespace cppfpm::server;

TEST_CASE("listener: php-fpm's listen forms parse") {
  std::string error;
  auto a = parse_listen("127.0.0.1:9000", error);
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9000);
  auto b = parse_listen("9001", error);
  REQUIRE(b);
  CHECK(b->host.empty());
  CHECK(b->port == 9001);
  auto c = parse_listen("[::1]:9002", error);
  REQUIRE(c);
  CHECK(c->host == "::1");
  auto d = parse_listen("/run/cppfpm.sock", error);
  REQUIRE(d);
  CHECK(d->kind == ListenAddress::Kind::unix_path);
}

TEST_CASE("listener: bad listen values are refused with a reason") {
  std::string error;
  for (const char* bad : {"", "127.0.0.1:", "host:99999", "host:0", "1.2.3.4:9x"}) {
    error.clear();
    CHECK_FALSE(parse_listen(bad, error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("listener: allowed_clients compares the peer address") {
  sockaddr_storage peer{};
  auto& in = reinterpret_cast<sockaddr_in&>(peer);
  in.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.2", &in.sin_addr);
  CHECK(ClientFilter({}).allows(peer));
  CHECK(ClientFilter({"127.0.0.2"}).allows(peer));
  CHECK_FALSE(ClientFilter({"127.0.0.1"}).allows(peer));
  CHECK(ClientFilter::peer_text(peer) == "127.0.0.2");
}

TEST_CASE("listener: opens a loopback socket on a free port") {
  ListenAddress a;
  a.host = "127.0.0.1";
  a.port = 0;
  // Port 0 is refused by parse_listen but accepted by the kernel; use it to
  // avoid clashing with anything running here.
  Fd fd = open_listener(a, ListenOptions{});
  CHECK(fd.get() >= 0);
}
