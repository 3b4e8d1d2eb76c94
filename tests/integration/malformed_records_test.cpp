// Hostile FastCGI input (memcached's t/malicious-commands.t in spirit):
// whatever arrives on the socket, no process crashes, and the server goes
// on answering normal requests. libfcgi had CVE-2025-23016, an overflow
// from crafted name/value lengths in FCGI_PARAMS.
#include <algorithm>
#include <catch2/catch.hpp>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;
namespace f = cppfpm::test::fcgi;

namespace {

std::string begin(std::uint16_t id = 1, std::uint16_t role = f::role_responder) {
  return f::record(f::begin_request, id, f::begin_request_body(role, 0));
}

std::string params_of(std::uint16_t id, const Params& params) {
  std::string pairs;
  for (const auto& [name, value] : params) pairs += f::name_value(name, value);
  return f::stream(f::params, id, pairs);
}

std::string end_of_request(std::uint16_t id = 1) {
  return f::stream(f::stdin_stream, id, {});
}

// The server as it was before the hostile input: master pid and pool children.
struct Baseline {
  std::vector<pid_t> children;
};

Baseline baseline(Stack& stack) {
  auto children = stack.fpm->process().children();
  std::sort(children.begin(), children.end());
  return {children};
}

// After hostile input: nothing died, and a normal request is answered.
void expect_unharmed(Stack& stack, const Baseline& before) {
  INFO("log:\n" << stack.fpm_log());
  REQUIRE(stack.fpm->process().running());
  Stopwatch watch;
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php", {}, 5s);
  REQUIRE(r.ended);
  CHECK(parse_set_session(r.body));
  CHECK(watch.elapsed() < 2s);
  auto children = stack.fpm->process().children();
  std::sort(children.begin(), children.end());
  CHECK(children == before.children);  // a crashed, respawned child changes this
}

// Sends `bytes`, waits up to `wait` for an answer or a close, closes.
// Returns what came back.
std::string send_and_close(Stack& stack, std::string_view bytes, Millis wait = 300ms) {
  FcgiClient client(stack.fpm_port());
  client.send_raw(bytes);
  ReadStatus status;
  return read_until_eof(client.fd(), wait, &status);
}

}  // namespace

TEST_CASE("malformed: an HTTP request on the FastCGI port", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  send_and_close(stack, "GET /setSession.php HTTP/1.1\r\nHost: localhost\r\n\r\n");
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: random garbage bytes", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  std::string garbage;
  std::uint32_t x = 2463534242u;  // xorshift32: reproducible bytes
  for (int i = 0; i < 64 * 1024; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    garbage.push_back(static_cast<char>(x & 0xff));
  }
  for (std::size_t size : {1u, 7u, 8u, 9u, 4096u, 65536u})
    send_and_close(stack, garbage.substr(0, size), 300ms);
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: a truncated record header, then close", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  std::string header = begin().substr(0, 5);
  send_and_close(stack, header, 200ms);
  send_and_close(stack, begin() + f::header(1, f::params, 1, 100, 0).substr(0, 3), 200ms);
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: huge name/value lengths in PARAMS (CVE-2025-23016)", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  const std::uint32_t huge[] = {0x7fffffff, 0x7ffffff0, 0x3fffffff, 0x80000000u - 2, 65536, 300};
  for (std::uint32_t name_len : huge) {
    for (std::uint32_t value_len : {std::uint32_t(0x7fffffff), std::uint32_t(1)}) {
      INFO("name length " << name_len << ", value length " << value_len);
      std::string pair =
          f::encode_length(name_len, true) + f::encode_length(value_len, true) + "AB";
      std::string bytes =
          begin() + f::record(f::params, 1, pair) + f::record(f::params, 1, {}) + end_of_request();
      auto answer = send_and_close(stack, bytes);
      CHECK(answer.find("Session ID") == std::string::npos);  // no page for this
    }
  }
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: a name-value pair longer than its record", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  // Lengths say 200 + 200 bytes but the record carries ten.
  std::string pair = f::encode_length(200) + f::encode_length(200) + "SCRIPT_NAM";
  send_and_close(stack, begin() + f::record(f::params, 1, pair) + f::record(f::params, 1, {}) +
                            end_of_request());
  // A one-byte length whose pair then stops mid-length.
  send_and_close(stack, begin() + f::record(f::params, 1, std::string("\x80\x00", 2)) +
                            f::record(f::params, 1, {}) + end_of_request());
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: unknown record types", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  SECTION("a management record (id 0) of an unknown type gets FCGI_UNKNOWN_TYPE or a close") {
    // Spec section 4.2: the application answers FCGI_UNKNOWN_TYPE naming the type.
    FcgiClient client(stack.fpm_port());
    client.send_raw(f::record(0x42, 0, "whatever"));
    auto reply = client.read_record(3s);
    if (reply) {
      CHECK(reply->type == f::unknown_type);
      CHECK(reply->request_id == 0);
      REQUIRE(reply->content.size() >= 1);
      CHECK(static_cast<unsigned char>(reply->content[0]) == 0x42);
    } else {
      CHECK(client.last_status() == ReadStatus::eof);  // closed rather than hung
    }
  }
  SECTION("an unknown type inside a request") {
    send_and_close(stack, begin() + f::record(0x42, 1, "whatever") +
                              params_of(1, nginx_params("/setSession.php")) + end_of_request());
    send_and_close(stack, begin() + f::record(0xff, 1, std::string(65535, 'x')));
  }
  SECTION("response-only types sent to the server") {
    send_and_close(stack, begin() + f::record(f::end_request, 1, std::string(8, '\0')) +
                              f::record(f::stdout_stream, 1, "Status: 500\r\n\r\n") +
                              f::record(f::get_values_result, 0, {}));
  }
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: request id 0, other versions, other roles", "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  // Id 0 is reserved for management records (spec section 3.3).
  send_and_close(stack,
                 begin(0) + params_of(0, nginx_params("/setSession.php")) + end_of_request(0));
  // Version 2 does not exist.
  std::string v2 = begin();
  v2[0] = 2;
  send_and_close(stack, v2 + params_of(1, nginx_params("/setSession.php")) + end_of_request());
  // FCGI_FILTER (3) and a made-up role: FCGI_UNKNOWN_ROLE or a close (section 5.1).
  for (std::uint16_t role : {std::uint16_t(3), std::uint16_t(2), std::uint16_t(0xbeef)})
    send_and_close(
        stack, begin(1, role) + params_of(1, nginx_params("/setSession.php")) + end_of_request());
  // Two BEGIN_REQUESTs for the same id, and a second id on one connection.
  send_and_close(stack, begin() + begin() + begin(2) +
                            params_of(1, nginx_params("/setSession.php")) + end_of_request());
  // STDIN before PARAMS ended, and an ABORT for a request never begun.
  send_and_close(stack, begin() + f::record(f::stdin_stream, 1, "body") +
                            f::record(f::abort_request, 7, {}) + end_of_request());
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: connections closed mid-params do not leak worker threads", "[malformed]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "pm.max_children", "1");
    set_key(pool, "pm.threads_per_child", "2");
  }});
  auto before = baseline(stack);
  std::string params;
  for (const auto& [name, value] : nginx_params("/setSession.php"))
    params += f::name_value(name, value);
  for (int i = 0; i < 20; ++i) {
    FcgiClient client(stack.fpm_port());
    auto cut = static_cast<std::size_t>(1 + i * 7) % params.size();
    client.send_raw(begin() + f::record(f::params, 1, params.substr(0, cut)));
    if (i % 2) client.send_raw(f::header(1, f::params, 1, 1000, 0) + "partial");
  }
  expect_unharmed(stack, before);
}

TEST_CASE("malformed: an oversized PARAMS stream is refused or served, never fatal",
          "[malformed]") {
  Stack stack;
  auto before = baseline(stack);
  Params params = nginx_params("/setSession.php");
  for (int i = 0; i < 2000; ++i)
    params.emplace_back("HTTP_X_" + std::to_string(i), std::string(1000, 'v'));
  FcgiClient client(stack.fpm_port());
  client.send_request(params, {}, false, 1);
  auto r = client.read_response(1, 10s);
  INFO("stdout: " << r.stdout_data);
  if (r.ended) CHECK((r.status == 200 || r.status >= 400));
  client.close();
  expect_unharmed(stack, before);
}
