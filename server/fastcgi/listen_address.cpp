#include "server/fastcgi/listen_address.h"

#include <sys/un.h>

#include <charconv>
#include <string_view>

#include "server/text/strings.h"

namespace cppfpm::server {
namespace {

std::optional<int> parse_port(std::string_view port, std::string& error) {
  int value = 0;
  if (text::all_digits(port) && port.size() <= 5) {
    std::from_chars(port.data(), port.data() + port.size(), value);
    if (value >= 1 && value <= 65535) return value;
  }
  error = "has a bad port '" + std::string(port) + "'; ports go from 1 to 65535";
  return std::nullopt;
}

}  // namespace

std::string ListenAddress::str() const {
  if (kind == Kind::unix_path) return path;
  return (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(port);
}

BindPlan bind_plan(const ListenAddress& address) {
  if (!address.host.empty()) return BindPlan{address.host, false, {}};
  return BindPlan{"::", true, "0.0.0.0"};
}

std::optional<ListenAddress> parse_listen(const std::string& spec, std::string& error) {
  ListenAddress a;
  if (spec.empty()) {
    error = "must not be empty; use host:port, a port, or a socket path";
    return std::nullopt;
  }
  const std::size_t colon = spec.rfind(':');
  if (spec.front() == '/' || (colon == std::string::npos && !text::all_digits(spec))) {
    // The kernel's limit: sun_path holds the path and its NUL.
    if (spec.size() >= sizeof(sockaddr_un::sun_path)) {
      error = "is a unix socket path longer than " +
              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes";
      return std::nullopt;
    }
    a.kind = ListenAddress::Kind::unix_path;
    a.path = spec;
    return a;
  }
  std::string_view port = spec;
  if (colon != std::string::npos) {
    std::string_view host = std::string_view(spec).substr(0, colon);
    port = std::string_view(spec).substr(colon + 1);
    if (host.empty()) {
      error = "has no host before ':'; write 127.0.0.1:9000 or just 9000";
      return std::nullopt;
    }
    if (host.front() == '[') {
      if (host.size() < 2 || host.back() != ']') {
        error = "has an unclosed '[' in the address";
        return std::nullopt;
      }
      host = host.substr(1, host.size() - 2);
    }
    if (host != "*") a.host = std::string(host);
  }
  auto number = parse_port(port, error);
  if (!number) return std::nullopt;
  a.port = *number;
  return a;
}

}  // namespace cppfpm::server
