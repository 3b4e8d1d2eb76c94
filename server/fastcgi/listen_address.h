#pragma once
// The `listen` (and pm.status_listen) value: parsed here only, by the
// config check (`cppfpm -t`, reload) and when the master opens the socket,
// so the two cannot disagree.
#include <optional>
#include <string>

namespace cppfpm::server {

struct ListenAddress {
  enum class Kind { tcp, unix_path } kind = Kind::tcp;
  std::string host;  // "" = all addresses, as php-fpm's bare port or "*:port"
  int port = 0;
  std::string path;  // as written: a relative path is relative to the working directory
  // "host:port" (0.0.0.0 for all addresses) or the path; also the key a
  // socket is known by across a re-exec.
  std::string str() const;
};

// How the master binds a TCP address. All addresses ("9000", "*:9000"):
// php-fpm's [::] with IPV6_V6ONLY off, so IPv4 clients come in as
// ::ffff:a.b.c.d, and 0.0.0.0 when the kernel has no IPv6
// (socket(AF_INET6) fails with EAFNOSUPPORT). Otherwise the host as written.
struct BindPlan {
  std::string host;           // what getaddrinfo() resolves: "::" for all addresses
  bool dual_stack = false;    // IPV6_V6ONLY = 0 on the socket
  std::string ipv4_fallback;  // the host to use without IPv6; "" for none
};
BindPlan bind_plan(const ListenAddress& address);

// php-fpm's forms (fpm_sockets_domain_from_address): a value with a ':' or
// only digits is TCP ("host:port", "[v6]:port", "*:port", "port"); any
// other value is a unix socket path ("/run/php.sock", "relative.sock").
// A value starting with '/' is a path even with a ':' in it. On failure
// `error` says what is wrong, phrased to follow `listen = "value" `.
std::optional<ListenAddress> parse_listen(const std::string& spec, std::string& error);

}  // namespace cppfpm::server
