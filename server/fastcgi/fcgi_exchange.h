#pragma once
// One FastCGI request/response exchange on an accepted connection, done by
// libfcgi: record framing, FCGI_PARAMS, the FCGI_STDIN stream, FCGI_STDOUT
// and FCGI_END_REQUEST. The event loop accepted the connection and screened
// the request head; libfcgi is given the fd and never accepts by itself.
#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::server {

using RequestHandler = std::function<void(const Request&, Response&)>;

// A callable passed down for the length of one call, not kept: unlike a
// std::function it never allocates (a lambda capturing a few references
// does not fit std::function's inline buffer). Empty when default-made.
template <typename Signature>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  FunctionRef() = default;
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): used like a std::function
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}
  explicit operator bool() const { return call_ != nullptr; }
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_ = nullptr;
  R (*call_)(void*, Args...) = nullptr;
};

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
// The Request and Response the handler gets belong to the calling thread
// and are reused by its next exchange (their buffers keep their capacity).
AfterExchange serve_fcgi_request(int fd, FunctionRef<void(const Request&, Response&)> handler,
                                 const ExchangeLimits& limits,
                                 FunctionRef<void(const Request&)> on_params = {},
                                 FunctionRef<bool()> last_answer = {});

}  // namespace cppfpm::server
