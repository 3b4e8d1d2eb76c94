// Request heads larger than the socket's default receive window (about
// 64 KiB on loopback) but within max_head_bytes (128 KiB): the loop only
// peeks at a head, so before the fix such a head could never be seen whole
// and waited for the 10 s head timeout. Found by malicious_records_test.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/pm_server.h"

using namespace cppfpm::test;
namespace f = cppfpm::test::fcgi;

namespace {

// A whole request for `script` whose PARAMS carry `extra` bytes in one
// more header, split into records of `record` bytes as a web server would.
std::string request_with_big_header(std::string_view script, std::size_t extra,
                                    std::size_t record) {
  std::string pairs;
  for (const auto& [name, value] : nginx_params(script, {}, "ms=0"))
    pairs += f::name_value(name, value);
  pairs += f::name_value("HTTP_X_BIG", std::string(extra, 'x'));
  std::string bytes = f::record(f::begin_request, 1, f::begin_request_body(f::role_responder, 0));
  for (std::size_t at = 0; at < pairs.size(); at += record)
    bytes += f::record(f::params, 1, std::string_view(pairs).substr(at, record));
  bytes += f::record(f::params, 1, {});
  bytes += f::record(f::stdin_stream, 1, {});
  return bytes;
}

}  // namespace

TEST_CASE("a 100 KiB request head is served at once, in big or small records",
          "[pm][heads][large]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  for (std::size_t record : {65535u, 8000u, 512u}) {
    INFO("records of " << record << " bytes");
    Fd fd = pm_connect(fpm.endpoint);
    Stopwatch watch;
    REQUIRE(send_all(fd.get(), request_with_big_header("/__test/sleep", 100 * 1024, record)));
    ReadStatus status = ReadStatus::data;
    std::string answer = read_until_eof(fd.get(), 12s, &status);
    auto took = watch.elapsed();
    INFO("after " << took.count() << " ms, " << answer.size() << " bytes\nlog:\n" << fpm.log());
    CHECK(answer.find("slept 0") != std::string::npos);
    CHECK(took < 2000ms);  // not the 10 s head timeout
  }
  CHECK(fpm.log_count("request head incomplete") == 0);
}

TEST_CASE("a request head just past max_head_bytes is refused at once with the reason logged",
          "[pm][heads][large]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  Fd fd = pm_connect(fpm.endpoint);
  Stopwatch watch;
  send_all(fd.get(), request_with_big_header("/__test/sleep", 132 * 1024, 8000));
  ReadStatus status = ReadStatus::data;
  std::string answer = read_until_eof(fd.get(), 12s, &status);
  auto took = watch.elapsed();
  INFO("after " << took.count() << " ms\nlog:\n" << fpm.log());
  CHECK(answer.empty());
  CHECK(took < 2000ms);
  CHECK(wait_until([&] { return fpm.log_count("request head exceeds 131072 bytes") == 1; }, 3s));
}
