#include "server/memcached/servers.h"

#include <cctype>
#include <stdexcept>

#include "server/text/host_port.h"
#include "server/text/strings.h"

namespace cppfpm::memcached {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

[[noreturn]] void bad_entry(std::string_view entry, std::string_view why) {
  throw std::invalid_argument("session.save_path: \"" + std::string(entry) +
                              "\": " + std::string(why));
}

Server parse_server(std::string_view entry) {
  std::string_view rest = entry;
  if (rest.starts_with("unix://")) {
    rest.remove_prefix(7);
    if (rest.empty() || rest.front() != '/')
      bad_entry(entry, "a unix socket needs an absolute path");
    for (char c : rest) {
      if (static_cast<unsigned char>(c) < 0x20) bad_entry(entry, "control character in path");
    }
    return Server{std::string(rest), 0, true};
  }
  if (rest.starts_with("tcp://")) {
    rest.remove_prefix(6);
  } else if (rest.find("://") != std::string_view::npos) {
    bad_entry(entry, "only tcp:// and unix:// servers are supported");
  }
  rest = rest.substr(0, rest.find('?'));  // pecl-memcache options: persistent, weight...
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);

  std::string why;
  auto parsed = text::parse_host_port(rest, kMemcachedDefaultPort, &why);
  if (!parsed) bad_entry(entry, why);
  for (char c : parsed->host) {
    if (parsed->bracketed ? !std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.'
                          : !is_host_char(c))
      bad_entry(entry,
                parsed->bracketed ? "not an IPv6 address" : "invalid character in host name");
  }
  Server server;
  server.host = std::move(parsed->host);
  server.port = static_cast<std::uint16_t>(parsed->port);
  return server;
}

}  // namespace

std::vector<Server> parse_save_path(std::string_view save_path) {
  std::vector<Server> servers;
  std::size_t pos = 0;
  while (pos <= save_path.size()) {
    std::size_t comma = save_path.find(',', pos);
    if (comma == std::string_view::npos) comma = save_path.size();
    const std::string_view entry = text::trim(save_path.substr(pos, comma - pos));
    if (!entry.empty()) servers.push_back(parse_server(entry));
    pos = comma + 1;
  }
  if (servers.empty()) {
    throw std::invalid_argument("session.save_path: no memcached server given");
  }
  return servers;
}

std::string server_name(const Server& server) {
  return server.unix_socket ? "unix://" + server.host
                            : server.host + ":" + std::to_string(server.port);
}

std::string server_names(const std::vector<Server>& servers) {
  std::string names;
  for (const Server& server : servers) {
    if (!names.empty()) names += ", ";
    names += server_name(server);
  }
  return names;
}

}  // namespace cppfpm::memcached
