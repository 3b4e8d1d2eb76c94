#pragma once
// A minimal HTTP/1.1 client (RFC 9112) for talking to nginx, and a cookie
// jar that keeps what Set-Cookie says (RFC 6265, names and values only).
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "support/fcgi_client.h"
#include "support/net.h"

namespace cppfpm::test {

struct HttpResponse {
  int status = 0;    // 0: no parsable response
  Headers headers;   // in the order they arrived
  std::string body;  // de-chunked

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // Every value of header `name`, in order.
  std::vector<std::string> all(std::string_view name) const;
};

// GET `path` from 127.0.0.1:port with `Connection: close`, sending `cookie`
// as the Cookie header when non-empty.
HttpResponse http_get(int port, std::string_view path, std::string_view cookie = {},
                      Millis timeout = 10s);

class CookieJar {
 public:
  // Takes every Set-Cookie of `response`.
  void update(const HttpResponse& response);
  // The Cookie header to send: "a=1; b=2"; "" when empty.
  std::string header() const;
  std::optional<std::string> get(const std::string& name) const;
  bool empty() const { return cookies_.empty(); }

 private:
  std::map<std::string, std::string> cookies_;
};

// GET through `jar`: sends its cookies, keeps the ones the answer sets.
HttpResponse http_get(int port, std::string_view path, CookieJar& jar, Millis timeout = 10s);

}  // namespace cppfpm::test
