#pragma once
// "host[:port]" items, the one parser behind every server list that names
// hosts this way: sql.servers (checked by the config loader, used by the
// sql layer) and session.save_path's memcached servers. Each caller adds
// its own rules on top (which characters a host may hold, URL prefixes).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppfpm::text {

struct HostPort {
  std::string host;
  int port = 0;
  bool bracketed = false;  // written as [v6addr]
  bool operator==(const HostPort&) const = default;
};

// "host", "host:port", "[v6addr]" or "[v6addr]:port"; a missing port is
// `default_port`. A bare host holds no ':' (an IPv6 address goes in
// brackets); a host never holds spaces, quotes, '=' or control
// characters. On a bad item, nullopt and `*why` says what is wrong.
std::optional<HostPort> parse_host_port(std::string_view item, int default_port, std::string* why);

// A comma-separated list of such items, each trimmed; an empty item is an
// error. On error, nullopt and `*why` names the bad item.
std::optional<std::vector<HostPort>> parse_host_port_list(std::string_view list, int default_port,
                                                          std::string* why);

}  // namespace cppfpm::text
