#include "server/fastcgi/fcgi_exchange.h"

#include <fcgiapp.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

namespace cppfpm::server {
namespace {

std::unordered_map<std::string, std::string> read_params(FCGX_Request& fcgi) {
  std::unordered_map<std::string, std::string> params;
  for (char** env = fcgi.envp; env && *env; ++env) {
    std::string_view pair(*env);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    params.emplace(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
  }
  return params;
}

std::string read_body(FCGX_Request& fcgi, const ExchangeLimits& limits, bool& too_large) {
  std::string body;
  char buf[16384];
  while (true) {
    int n = FCGX_GetStr(buf, sizeof(buf), fcgi.in);
    if (n <= 0) break;
    if (body.size() + static_cast<std::size_t>(n) > limits.max_body_bytes) {
      too_large = true;
      break;
    }
    body.append(buf, static_cast<std::size_t>(n));
  }
  return body;
}

}  // namespace

void init_fastcgi() {
  if (FCGX_Init() != 0) spdlog::critical("FCGX_Init() failed");
}

AfterExchange serve_fcgi_request(int fd, const RequestHandler& handler,
                                 const ExchangeLimits& limits,
                                 const std::function<void(const Request&)>& on_params) {
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

  bool too_large = false;
  Request request(read_params(fcgi), {});
  // The request counts as started from here, while its body still arrives.
  if (on_params) on_params(request);
  request.set_body(read_body(fcgi, limits, too_large));
  Response response;
  if (too_large) {
    spdlog::warn("request body of {} exceeds {} bytes: answered 413 and closed",
                 request.script_name(), limits.max_body_bytes);
    response.status = 413;
    response.body = "Request body too large.\n";
    fcgi.keepConnection = 0;
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
  std::string out = to_cgi(response);
  if (FCGX_PutStr(out.data(), static_cast<int>(out.size()), fcgi.out) < 0) fcgi.keepConnection = 0;
  fcgi.detached = 1;
  FCGX_Finish_r(&fcgi);  // flushes FCGI_STDOUT, sends FCGI_END_REQUEST
  return fcgi.ipcFd >= 0 ? AfterExchange::keep_open : AfterExchange::closed;
}

}  // namespace cppfpm::server
