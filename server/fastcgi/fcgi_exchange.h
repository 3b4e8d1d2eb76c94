#pragma once
// One FastCGI request/response exchange on an accepted connection, done by
// libfcgi: record framing, FCGI_PARAMS, the FCGI_STDIN stream, FCGI_STDOUT
// and FCGI_END_REQUEST. The event loop accepted the connection and screened
// the request head; libfcgi is given the fd and never accepts by itself.
#include <cstddef>
#include <functional>

#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::server {

using RequestHandler = std::function<void(const Request&, Response&)>;

struct ExchangeLimits {
  std::size_t max_body_bytes = 8 * 1024 * 1024;  // PHP's post_max_size default
};

enum class AfterExchange {
  keep_open,  // the client asked for FCGI_KEEP_CONN: wait for its next request
  closed,     // libfcgi closed the fd (no keep-alive, protocol error or EOF)
};

// Must run once per process before the first exchange.
void init_fastcgi();

// `on_params` runs once the params are read, before the body is.
// `last_answer`, asked before the answer goes out: true when the child is
// stopping, so a kept connection must close after this answer. Its FIN then
// leaves with the END_REQUEST record, in one segment: nginx sees the close
// before it caches the connection again and writes another request on it.
AfterExchange serve_fcgi_request(int fd, const RequestHandler& handler,
                                 const ExchangeLimits& limits,
                                 const std::function<void(const Request&)>& on_params = {},
                                 const std::function<bool()>& last_answer = {});

}  // namespace cppfpm::server
