#include <catch2/catch.hpp>

#include <string>

#include "server/fastcgi/listen_address.h"

using cppfpm::server::bind_plan;
using cppfpm::server::BindPlan;
using cppfpm::server::ListenAddress;
using cppfpm::server::parse_listen;

namespace {

std::string error_of(const std::string& spec) {
  std::string error;
  CHECK_FALSE(parse_listen(spec, error));
  return error;
}

}  // namespace

// php-fpm's fpm_sockets_domain_from_address: a ':' or only digits is TCP,
// anything else a unix socket path.
TEST_CASE("listen address: a value without a colon or port is a unix socket path") {
  std::string error;
  for (const char* path : {"relative.sock", "abc", "run/php/www.sock", "/run/php.sock",
                           "/tmp/odd:name.sock", "9000.sock"}) {
    auto a = parse_listen(path, error);
    REQUIRE(a);
    CHECK(a->kind == ListenAddress::Kind::unix_path);
    CHECK(a->path == path);
    CHECK(a->str() == path);
  }
}

TEST_CASE("listen address: TCP forms") {
  std::string error;
  auto all = parse_listen("9000", error);
  REQUIRE(all);
  CHECK(all->kind == ListenAddress::Kind::tcp);
  CHECK(all->str() == "0.0.0.0:9000");
  CHECK(parse_listen("*:9000", error)->str() == "0.0.0.0:9000");
  CHECK(parse_listen("[::1]:9000", error)->host == "::1");
  CHECK(parse_listen("localhost:65535", error)->port == 65535);
}

TEST_CASE("listen address: errors say what to write") {
  CHECK(error_of("") == "must not be empty; use host:port, a port, or a socket path");
  CHECK(error_of("0") == "has a bad port '0'; ports go from 1 to 65535");
  CHECK(error_of("127.0.0.1:99999") == "has a bad port '99999'; ports go from 1 to 65535");
  CHECK(error_of("127.0.0.1:http") == "has a bad port 'http'; ports go from 1 to 65535");
  CHECK(error_of("127.0.0.1:") == "has a bad port ''; ports go from 1 to 65535");
  CHECK(error_of(":9000") == "has no host before ':'; write 127.0.0.1:9000 or just 9000");
  CHECK(error_of("[::1:9000") == "has an unclosed '[' in the address");
  CHECK(error_of("/" + std::string(200, 'x')) == "is a unix socket path longer than 107 bytes");
}

TEST_CASE("listen address: all addresses bind :: dual-stack and 0.0.0.0 without IPv6") {
  std::string error;
  // php-fpm's `listen = 9000`: IPv6 and IPv4 (as ::ffff:a.b.c.d) on one socket.
  for (const char* spec : {"9000", "*:9000"}) {
    BindPlan plan = bind_plan(*parse_listen(spec, error));
    CHECK(plan.host == "::");
    CHECK(plan.dual_stack);
    CHECK(plan.ipv4_fallback == "0.0.0.0");
  }
  BindPlan v4 = bind_plan(*parse_listen("127.0.0.1:9000", error));
  CHECK(v4.host == "127.0.0.1");
  CHECK_FALSE(v4.dual_stack);
  CHECK(v4.ipv4_fallback.empty());
  BindPlan v6 = bind_plan(*parse_listen("[::1]:9000", error));
  CHECK(v6.host == "::1");
  CHECK_FALSE(v6.dual_stack);
}
