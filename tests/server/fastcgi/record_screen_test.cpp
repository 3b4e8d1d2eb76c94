#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "server/fastcgi/record_screen.h"

using cppfpm::server::screen_request_head;
using cppfpm::server::ScreenLimits;
using cppfpm::server::Verdict;

namespace {

using Bytes = std::vector<unsigned char>;

void record(Bytes& out, int type, int id, const std::string& content, int padding = 0) {
  out.push_back(1);
  out.push_back(static_cast<unsigned char>(type));
  out.push_back(static_cast<unsigned char>(id >> 8));
  out.push_back(static_cast<unsigned char>(id & 0xff));
  out.push_back(static_cast<unsigned char>(content.size() >> 8));
  out.push_back(static_cast<unsigned char>(content.size() & 0xff));
  out.push_back(static_cast<unsigned char>(padding));
  out.push_back(0);
  out.insert(out.end(), content.begin(), content.end());
  out.insert(out.end(), static_cast<std::size_t>(padding), 0);
}

std::string begin_body(int role = 1, int flags = 1) {
  return std::string{static_cast<char>(role >> 8),
                     static_cast<char>(role & 0xff),
                     static_cast<char>(flags),
                     0,
                     0,
                     0,
                     0,
                     0};
}

std::string length(std::uint32_t n) {
  if (n < 128) return std::string(1, static_cast<char>(n));
  return std::string{static_cast<char>(0x80 | (n >> 24)), static_cast<char>((n >> 16) & 0xff),
                     static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}

std::string pair(const std::string& name, const std::string& value) {
  return length(static_cast<std::uint32_t>(name.size())) +
         length(static_cast<std::uint32_t>(value.size())) + name + value;
}

Bytes good_head() {
  Bytes b;
  record(b, 1, 1, begin_body());
  record(b, 4, 1, pair("SCRIPT_NAME", "/setSession.php") + pair("REQUEST_METHOD", "GET"), 3);
  record(b, 4, 1, "");
  return b;
}

}  // namespace

TEST_CASE("record_screen: a complete head passes, every shorter prefix waits for more") {
  Bytes b = good_head();
  CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::complete);
  for (std::size_t n = 0; n < b.size(); ++n)
    CHECK(screen_request_head(b.data(), n).verdict == Verdict::need_more);
}

TEST_CASE("record_screen: STDIN after the head does not matter") {
  Bytes b = good_head();
  record(b, 5, 1, "body");
  CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::complete);
}

TEST_CASE("record_screen: a pair split across PARAMS records passes") {
  Bytes b;
  record(b, 1, 7, begin_body());
  std::string p = pair("HTTP_COOKIE", std::string(300, 'x'));
  record(b, 4, 7, p.substr(0, 5));
  record(b, 4, 7, p.substr(5));
  record(b, 4, 7, "");
  CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::complete);
}

TEST_CASE("record_screen: lengths larger than the stream are refused (CVE-2025-23016 shape)") {
  for (std::uint32_t name_len : {0x7fffffffu, 0x7ffffff0u, 0x40000000u, 100u}) {
    Bytes b;
    record(b, 1, 1, begin_body());
    record(b, 4, 1, length(name_len) + length(0x7ffffff0u) + "AB");
    record(b, 4, 1, "");
    auto r = screen_request_head(b.data(), b.size());
    CHECK(r.verdict == Verdict::invalid);
    CHECK(r.reason.find("exceed") != std::string::npos);
  }
}

TEST_CASE("record_screen: malformed heads are refused with a reason") {
  SECTION("wrong version") {
    Bytes b = good_head();
    b[0] = 2;
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("params before begin") {
    Bytes b;
    record(b, 4, 1, pair("A", "B"));
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("params for another request id") {
    Bytes b;
    record(b, 1, 1, begin_body());
    record(b, 4, 2, pair("A", "B"));
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("unknown role") {
    Bytes b;
    record(b, 1, 1, begin_body(9));
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("short begin body") {
    Bytes b;
    record(b, 1, 1, "abc");
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("request id 0 with a non-management type") {
    Bytes b;
    record(b, 1, 0, begin_body());
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("stdin before the params end") {
    Bytes b;
    record(b, 1, 1, begin_body());
    record(b, 5, 1, "x");
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("truncated pair inside the finished stream") {
    Bytes b;
    record(b, 1, 1, begin_body());
    record(b, 4, 1, std::string("\x85", 1));
    record(b, 4, 1, "");
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
  SECTION("empty name") {
    Bytes b;
    record(b, 1, 1, begin_body());
    record(b, 4, 1, pair("", "v"));
    record(b, 4, 1, "");
    CHECK(screen_request_head(b.data(), b.size()).verdict == Verdict::invalid);
  }
}

TEST_CASE("record_screen: a head over the limit is refused, not waited for") {
  ScreenLimits limits;
  limits.max_head_bytes = 1024;
  Bytes b;
  record(b, 1, 1, begin_body());
  for (int i = 0; i < 20; ++i)
    record(b, 4, 1, pair("HTTP_X" + std::to_string(i), std::string(100, 'v')));
  CHECK(screen_request_head(b.data(), b.size(), limits).verdict == Verdict::invalid);
  CHECK(screen_request_head(b.data(), 1024, limits).verdict == Verdict::invalid);
}

TEST_CASE("record_screen: FCGI_GET_VALUES first is reported for the loop to answer") {
  Bytes b;
  record(b, 9, 0, pair("FCGI_MAX_CONNS", "") + pair("FCGI_MPXS_CONNS", ""));
  std::size_t management_size = b.size();
  Bytes head = good_head();
  b.insert(b.end(), head.begin(), head.end());
  auto r = screen_request_head(b.data(), b.size());
  REQUIRE(r.verdict == Verdict::management);
  CHECK(r.consumed == management_size);
  CHECK(r.names == std::vector<std::string>{"FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"});
  // The rest screens as a normal head once the record is consumed.
  CHECK(screen_request_head(b.data() + management_size, b.size() - management_size).verdict ==
        Verdict::complete);
}

TEST_CASE("record_screen: the FCGI_GET_VALUES_RESULT record") {
  std::string reply =
      cppfpm::server::get_values_result({"FCGI_MAX_CONNS", "FCGI_MPXS_CONNS", "OTHER"}, 16, 16);
  REQUIRE(reply.size() % 8 == 0);
  CHECK(reply[0] == 1);
  CHECK(reply[1] == 10);
  CHECK(reply[2] == 0);
  CHECK(reply[3] == 0);
  std::size_t content =
      (static_cast<unsigned char>(reply[4]) << 8) | static_cast<unsigned char>(reply[5]);
  std::string body = reply.substr(8, content);
  CHECK(body == std::string("\x0e\x02") + "FCGI_MAX_CONNS16" + std::string("\x0f\x01") +
                    "FCGI_MPXS_CONNS0");
}
