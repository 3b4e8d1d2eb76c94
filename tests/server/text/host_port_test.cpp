// host[:port] items: the one parser behind sql.servers and the memcached
// servers of session.save_path.
#include <catch2/catch.hpp>

#include <string>

#include "server/text/host_port.h"

using cppfpm::text::HostPort;
using cppfpm::text::parse_host_port;
using cppfpm::text::parse_host_port_list;

namespace {

std::string error_of(std::string_view item) {
  std::string why;
  auto parsed = parse_host_port(item, 11211, &why);
  return parsed ? "(parsed)" : why;
}

}  // namespace

TEST_CASE("host_port: the four forms, the default port where none is written") {
  std::string why;
  CHECK(*parse_host_port("db", 3306, &why) == HostPort{"db", 3306, false});
  CHECK(*parse_host_port("db:3307", 3306, &why) == HostPort{"db", 3307, false});
  CHECK(*parse_host_port("[::1]", 3306, &why) == HostPort{"::1", 3306, true});
  CHECK(*parse_host_port("[::1]:1", 3306, &why) == HostPort{"::1", 1, true});
  CHECK(*parse_host_port("h:65535", 3306, &why) == HostPort{"h", 65535, false});
}

TEST_CASE("host_port: each bad item says what is wrong") {
  CHECK(error_of("[::1") == "unclosed '['");
  CHECK(error_of("[::1]x") == "expected ':port' after ']'");
  CHECK(error_of(":3306") == "empty host");
  CHECK(error_of("[]:1") == "empty host");
  CHECK(error_of("h:") == "port must be a number from 1 to 65535");
  CHECK(error_of("h:0") == "port must be a number from 1 to 65535");
  CHECK(error_of("h:65536") == "port must be a number from 1 to 65535");
  CHECK(error_of("h:x") == "port must be a number from 1 to 65535");
  CHECK(error_of("h:-1") == "port must be a number from 1 to 65535");
  CHECK(error_of("::1") == "an IPv6 address goes in brackets: [addr]:port");
  CHECK(error_of("a b:1") == "invalid character in host name");
  CHECK(error_of("a'b") == "invalid character in host name");
  CHECK(error_of("host=x") == "invalid character in host name");
  CHECK(error_of(std::string("a\x01", 2)) == "invalid character in host name");
}

TEST_CASE("host_port: a list is split on commas and trimmed; an empty item is an error") {
  std::string why;
  auto list = parse_host_port_list(" a:1 ,b,[::1]:3 ", 9, &why);
  REQUIRE(list);
  CHECK(*list == std::vector<HostPort>{{"a", 1, false}, {"b", 9, false}, {"::1", 3, true}});
  CHECK_FALSE(parse_host_port_list("a,,b", 9, &why));
  CHECK(why == "empty item");
  CHECK_FALSE(parse_host_port_list("", 9, &why));
  CHECK_FALSE(parse_host_port_list("a, b:0", 9, &why));
  CHECK(why == "'b:0': port must be a number from 1 to 65535");
}
