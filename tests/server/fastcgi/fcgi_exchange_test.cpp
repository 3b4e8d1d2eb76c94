// serve_fcgi_request on one end of a socketpair: each request of a kept
// connection is served on its own although the thread reuses its Request
// and Response, the answer's bytes are to_cgi's, and once warm an exchange
// makes no C++ allocation (operator new is counted here; libfcgi's own
// mallocs are not ours to remove, tests/bench/mallocs counts them).
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/fastcgi/fcgi_exchange.h"
#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

// ThreadSanitizer's runtime defines operator new and delete itself, so a
// TSan build (tests/run's tsan stage) cannot replace them: there the
// allocation test is left out, the other stages run it.
#if defined(__SANITIZE_THREAD__)
#define CPPFPM_NO_NEW_COUNT 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CPPFPM_NO_NEW_COUNT 1
#endif
#endif

#ifndef CPPFPM_NO_NEW_COUNT
namespace {

// Counts operator new on threads that ask for it. new and delete are
// replaced as a whole set (malloc/free), so sanitizers see matching pairs.
thread_local bool t_counting = false;
std::atomic<long> g_news{0};

void* counted_new(std::size_t size) {
  if (t_counting) g_news.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  return std::malloc(size);
}

}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_new(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_new(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#endif  // CPPFPM_NO_NEW_COUNT

namespace cppfpm::server {
namespace {

void put_record(std::string& out, int type, std::string_view content) {
  const std::size_t padding = (8 - content.size() % 8) % 8;
  out += static_cast<char>(1);
  out += static_cast<char>(type);
  out += '\0';
  out += '\1';  // request id 1
  out += static_cast<char>((content.size() >> 8) & 0xff);
  out += static_cast<char>(content.size() & 0xff);
  out += static_cast<char>(padding);
  out += '\0';
  out.append(content);
  out.append(padding, '\0');
}

void put_length(std::string& out, std::size_t n) {
  if (n < 128) {
    out += static_cast<char>(n);
    return;
  }
  out += static_cast<char>(((n >> 24) & 0x7f) | 0x80);
  out += static_cast<char>((n >> 16) & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  out += static_cast<char>(n & 0xff);
}

std::string fcgi_request(const std::vector<std::pair<std::string, std::string>>& params,
                         std::string_view body) {
  std::string out;
  put_record(out, 1, std::string("\0\1\1\0\0\0\0\0", 8));  // RESPONDER, FCGI_KEEP_CONN
  std::string pairs;
  for (const auto& [name, value] : params) {
    put_length(pairs, name.size());
    put_length(pairs, value.size());
    pairs += name;
    pairs += value;
  }
  put_record(out, 4, pairs);
  put_record(out, 4, "");
  for (std::size_t at = 0; at < body.size(); at += 60000)
    put_record(out, 5, body.substr(at, 60000));
  put_record(out, 5, "");
  return out;
}

// FCGI_STDOUT's bytes up to FCGI_END_REQUEST; what was read past it stays
// in `in` for the next answer.
std::string read_stdout(int fd, std::string& in) {
  std::string out;
  while (true) {
    while (in.size() >= 8) {
      const auto* h = reinterpret_cast<const unsigned char*>(in.data());
      const std::size_t length = (std::size_t{h[4]} << 8) | h[5];
      const std::size_t total = 8 + length + h[6];
      if (in.size() < total) break;
      const int type = h[1];
      if (type == 6) out.append(in, 8, length);
      in.erase(0, total);
      if (type == 3) return out;
    }
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) return out + "<closed>";
    in.append(buf, static_cast<std::size_t>(n));
  }
}

struct Pair {
  int client = -1, server = -1;
  std::string pending;  // read past the last answer
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client = fds[0];
    server = fds[1];
  }
  ~Pair() {
    ::close(client);
    if (server >= 0) ::close(server);
  }
  // One exchange, the request written first (it fits the socket buffer),
  // the answer read meanwhile (it may not).
  std::string exchange(const std::string& request,
                       FunctionRef<void(const Request&, Response&)> handler) {
    REQUIRE(::write(client, request.data(), request.size()) ==
            static_cast<ssize_t>(request.size()));
    std::string answer;
    std::thread reader([&] { answer = read_stdout(client, pending); });
    const AfterExchange after = serve_fcgi_request(server, handler, ExchangeLimits{});
    reader.join();
    CHECK(after == AfterExchange::keep_open);
    return answer;
  }
};

std::vector<std::pair<std::string, std::string>> params_of(std::string script) {
  return {{"REQUEST_METHOD", "GET"},
          {"SCRIPT_NAME", std::move(script)},
          {"GATEWAY_INTERFACE", "CGI/1.1"},
          {"SCRIPT_FILENAME", "/srv/a/very/long/document/root/for/the/pages/page.php"},
          {"QUERY_STRING", ""},
          {"HTTP_HOST", "127.0.0.1:8080"}};
}

}  // namespace

TEST_CASE("exchange: each request of a kept connection is served on its own", "[fastcgi]") {
  init_fastcgi();
  Pair pair;
  auto first = params_of("/one.php");
  first.emplace_back("REQUEST_METHOD", "POST");  // a second one: the first counts
  first.emplace_back("HTTP_X_ONLY_FIRST", "yes");
  first.emplace_back("CONTENT_LENGTH", "5");
  std::string seen;
  auto handler = [&](const Request& request, Response& response) {
    seen = std::string(request.script_name()) + " " + std::string(request.method()) + " [" +
           std::string(request.body()) + "] " + std::string(request.param("HTTP_X_ONLY_FIRST"));
    if (request.script_name() == "/one.php") {
      response.status = 404;
      response.add_header("X-First", "a value longer than the small string buffer");
      response.stderr_text = "to the log";
      response.write("first body");
    } else {
      response.add_header("Content-Type", "text/plain");
      response.write("second");
    }
  };
  CHECK(pair.exchange(fcgi_request(first, "hello"), handler) ==
        "Status: 404 Not Found\r\nX-First: a value longer than the small string buffer\r\n"
        "Content-type: text/html; charset=UTF-8\r\n\r\nfirst body");
  CHECK(seen == "/one.php GET [hello] yes");
  CHECK(pair.exchange(fcgi_request(params_of("/two.php"), ""), handler) ==
        "Content-Type: text/plain\r\n\r\nsecond");
  CHECK(seen == "/two.php GET [] ");
}

TEST_CASE("exchange: the answer is to_cgi's bytes, a big body included", "[fastcgi]") {
  init_fastcgi();
  Pair pair;
  Response expected;
  expected.add_header("Set-Cookie", "PHPSESSID=abcdefghijklmnopqrstuvwxyz; path=/");
  expected.add_header("Cache-Control", "no-store, no-cache, must-revalidate");
  expected.body = std::string(200000, 'x');  // past libfcgi's buffer, past kKeepBytes
  auto handler = [&](const Request&, Response& response) {
    for (const auto& [name, value] : expected.headers) response.add_header(name, value);
    response.write(expected.body);
  };
  for (int i = 0; i < 2; ++i)
    CHECK(pair.exchange(fcgi_request(params_of("/big.php"), ""), handler) == to_cgi(expected));
}

#ifndef CPPFPM_NO_NEW_COUNT
TEST_CASE("exchange: once warm, an exchange makes no C++ allocation", "[fastcgi]") {
  init_fastcgi();
  Pair pair;
  const std::string request = fcgi_request(params_of("/ping"), "");
  // As the ping page answers: headers longer than a small string.
  auto handler = [](const Request& request, Response& response) {
    response.add_header("Content-type", "text/plain;charset=UTF-8");
    response.add_header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
    response.add_header("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
    if (request.method() == "GET") response.write("pong");
  };
  for (int i = 0; i < 3; ++i) CHECK(pair.exchange(request, handler).ends_with("\r\n\r\npong"));
  g_news = 0;
  int written = 0;
  t_counting = true;
  for (int i = 0; i < 5; ++i) {
    // serve_fcgi_request alone: the helper's own strings are not counted.
    if (::write(pair.client, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size()))
      ++written;
    serve_fcgi_request(pair.server, handler, ExchangeLimits{});
  }
  t_counting = false;
  CHECK(written == 5);
  CHECK(g_news.load() == 0);
  for (int i = 0; i < 5; ++i)
    CHECK(read_stdout(pair.client, pair.pending).ends_with("\r\n\r\npong"));
}
#endif  // CPPFPM_NO_NEW_COUNT

TEST_CASE("request: params by name, the first of a repeated name, set_param replaces",
          "[fastcgi]") {
  Request r;
  r.add_param("A", "1");
  r.add_param("LONG_NAME_OF_A_PARAM", std::string(100, 'v'));
  r.add_param("A", "2");
  CHECK(r.param("A") == "1");
  CHECK(r.param("LONG_NAME_OF_A_PARAM") == std::string(100, 'v'));
  CHECK(r.param("B").empty());
  CHECK_FALSE(r.has_param("B"));
  r.add_param("EMPTY", "");
  CHECK(r.has_param("EMPTY"));
  r.set_param("A", "three");
  r.set_param("B", "4");
  CHECK(r.param("A") == "three");
  CHECK(r.param("B") == "4");
  r.set_body("body");
  Request copy = r;
  r.clear();
  CHECK_FALSE(r.has_param("A"));
  CHECK(r.body().empty());
  CHECK(r.param_count() == 0);
  CHECK(copy.param("A") == "three");
  CHECK(copy.body() == "body");
}

TEST_CASE("response: clear() gives a fresh 200 and the next headers their own values",
          "[fastcgi]") {
  Response r;
  r.status = 503;
  r.add_header("Retry-After", "1");
  r.add_header("Cache-Control", "private, max-age=10800, a long value");
  r.write("busy");
  r.stderr_text = "x";
  r.clear();
  CHECK(r.status == 200);
  CHECK(r.headers.empty());
  CHECK(r.body.empty());
  CHECK(r.stderr_text.empty());
  r.add_header("Content-Type", "text/plain");
  r.add_header("X", "");
  r.add_header("Y", "y");
  REQUIRE(r.headers.size() == 3);
  CHECK(r.headers[0] == Header{"Content-Type", "text/plain"});
  CHECK(r.headers[1] == Header{"X", ""});
  CHECK(r.headers[2] == Header{"Y", "y"});
  CHECK(to_cgi(r) == "Content-Type: text/plain\r\nX: \r\nY: y\r\n\r\n");
}

}  // namespace cppfpm::server
