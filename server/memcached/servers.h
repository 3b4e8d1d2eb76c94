#pragma once
// The memcached server list, written as PHP writes session.save_path; the
// session store and the query cache (cache.servers) read it the same way.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cppfpm::memcached {

struct Server {
  std::string host;        // host name or address; for a unix socket, its path
  std::uint16_t port = 0;  // 0 for a unix socket
  bool unix_socket = false;
  bool operator==(const Server&) const = default;
};

inline constexpr std::uint16_t kMemcachedDefaultPort = 11211;

// A PHP-style session.save_path: comma-separated servers, each
// "tcp://host:port", "host:port", "host" (port 11211), "[v6addr]:port" or
// "unix:///path"; a "?persistent=1&weight=..." suffix (pecl-memcache's
// options) is ignored. Throws std::invalid_argument saying what is wrong.
std::vector<Server> parse_save_path(std::string_view save_path);

// A server as log lines name it: "host:port" or "unix:///path".
std::string server_name(const Server& server);
// The names of `servers`, comma-separated.
std::string server_names(const std::vector<Server>& servers);

}  // namespace cppfpm::memcached
