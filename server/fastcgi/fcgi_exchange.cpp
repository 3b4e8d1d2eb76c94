#include "server/fastcgi/fcgi_exchange.h"

#include <fcgiapp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace cppfpm::server {
namespace {

// The params as libfcgi decoded them (NAME=value strings, valid until
// FCGX_Finish_r), copied into the thread's reused Request.
void read_params(FCGX_Request& fcgi, Request& request) {
  for (char** env = fcgi.envp; env && *env; ++env) {
    std::string_view pair(*env);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (request.has_param(pair.substr(0, eq))) continue;  // the first one counts
    request.add_param(pair.substr(0, eq), pair.substr(eq + 1));
  }
}

// The body, at most limits.max_body_bytes of it, into `body` (emptied
// first): a CONTENT_LENGTH over the limit is refused before a byte is read,
// and a body that goes past it is not kept; the buffer is sized once from
// CONTENT_LENGTH, not grown by doubling, so a request's peak is its body,
// not twice that. False when too large.
bool read_body(FCGX_Request& fcgi, std::size_t declared, const ExchangeLimits& limits,
               std::string& body) {
  body.clear();
  if (declared > limits.max_body_bytes) return false;
  body.reserve(declared);
  char buf[16384];
  while (true) {
    int n = FCGX_GetStr(buf, sizeof(buf), fcgi.in);
    if (n <= 0) break;
    if (body.size() + static_cast<std::size_t>(n) > limits.max_body_bytes) {
      std::string().swap(body);
      return false;
    }
    body.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t content_length(const Request& request) {
  auto value = request.param("CONTENT_LENGTH");
  std::size_t n = 0;
  for (char ch : value) {
    if (ch < '0' || ch > '9') return 0;
    if (n > (std::size_t{1} << 48)) return n;
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  return n;
}

// Closes a connection whose body was not read to its end. A close with
// unread bytes sends a reset, which can reach the peer before it reads the
// answer; so the write side is shut first and what still arrives is read and
// dropped for a moment (nginx's lingering close), with poll(), any fd number.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char sink[16384];
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) break;
    if (::recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0) break;
  }
  ::close(fd);
}

// What one thread reuses from exchange to exchange.
struct ExchangeBuffers {
  Request request;
  Response response;
  std::string head;  // the CGI head of the answer
};

}  // namespace

void init_fastcgi() {
  if (FCGX_Init() != 0) spdlog::critical("FCGX_Init() failed");
}

AfterExchange serve_fcgi_request(int fd, FunctionRef<void(const Request&, Response&)> handler,
                                 const ExchangeLimits& limits,
                                 FunctionRef<void(const Request&)> on_params,
                                 FunctionRef<bool()> last_answer) {
  FCGX_Request fcgi;
  // No listening socket: the event loop accepts. libfcgi only serves `fd`.
  FCGX_InitRequest(&fcgi, -1, 0);
  fcgi.ipcFd = fd;
  // FCGX_Accept_r first finishes the "previous" request and would close an
  // fd whose connection is not marked kept; the BEGIN_REQUEST flags decide
  // for real once read.
  fcgi.keepConnection = 1;
  // detached: libfcgi closes without its 2 s shutdown/drain linger; every
  // byte of FCGI_STDIN has been read by then.
  fcgi.detached = 1;
  if (FCGX_Accept_r(&fcgi) < 0) return AfterExchange::closed;  // libfcgi closed fd

  static thread_local ExchangeBuffers buffers;
  Request& request = buffers.request;
  Response& response = buffers.response;
  request.clear();
  response.clear();
  read_params(fcgi, request);
  // The request counts as started from here, while its body still arrives.
  if (on_params) on_params(request);
  bool too_large = !read_body(fcgi, content_length(request), limits, request.body_buffer());
  if (too_large) {
    spdlog::warn("request body of {} exceeds {} bytes: answered 413 and closed",
                 request.script_name(), limits.max_body_bytes);
    response.status = 413;
    response.body = "Request body too large.\n";
    // Left open by libfcgi: closed by linger_close() once the answer is out.
    fcgi.keepConnection = 1;
  } else {
    try {
      handler(request, response);
    } catch (const std::exception& e) {
      spdlog::error("script '{}' failed: {}", request.script_name(), e.what());
      response = Response{};
      response.status = 500;
    }
  }
  if (!response.stderr_text.empty())
    FCGX_PutStr(response.stderr_text.data(), static_cast<int>(response.stderr_text.size()),
                fcgi.err);
  std::string& head = buffers.head;
  head.clear();
  append_cgi_head(response, head);
  // Head and body go through libfcgi's one FCGI_STDOUT buffer: the records
  // are the same as for one string holding both.
  if (FCGX_PutStr(head.data(), static_cast<int>(head.size()), fcgi.out) < 0 ||
      FCGX_PutStr(response.body.data(), static_cast<int>(response.body.size()), fcgi.out) < 0)
    fcgi.keepConnection = 0;
  fcgi.detached = 1;
  // The last answer on a kept connection: corked, so that the FIN that
  // shutdown() adds rides on the segment carrying FCGI_END_REQUEST.
  bool last = !too_large && fcgi.keepConnection && last_answer && last_answer();
  if (last) {
    int on = 1;
    ::setsockopt(fcgi.ipcFd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
  }
  FCGX_Finish_r(&fcgi);  // flushes FCGI_STDOUT, sends FCGI_END_REQUEST
  // What a big request grew goes back now, not at the thread's next request.
  if (request.body().size() > Request::kKeepBytes || response.body.size() > Response::kKeepBytes) {
    request.clear();
    response.clear();
  }
  if ((too_large || last) && fcgi.ipcFd >= 0) {
    linger_close(fcgi.ipcFd);
    return AfterExchange::closed;
  }
  return fcgi.ipcFd >= 0 ? AfterExchange::keep_open : AfterExchange::closed;
}

}  // namespace cppfpm::server
