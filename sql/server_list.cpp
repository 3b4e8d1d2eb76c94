#include "sql/server_list.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace cppfpm::sql {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int parse_port(std::string_view digits, std::string_view item) {
  if (digits.empty() || digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    throw std::invalid_argument("bad port in sql.servers item '" + std::string(item) + "'");
  int port = std::stoi(std::string(digits));
  if (port < 1 || port > 65535)
    throw std::invalid_argument("bad port in sql.servers item '" + std::string(item) + "'");
  return port;
}

ServerAddress parse_item(std::string_view item, int default_port) {
  ServerAddress a;
  a.port = default_port;
  std::string_view rest = item;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("unclosed [ in sql.servers item '" + std::string(item) + "'");
    a.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        throw std::invalid_argument("bad sql.servers item '" + std::string(item) + "'");
      a.port = parse_port(rest.substr(1), item);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    a.host = std::string(rest.substr(0, colon));
    a.port = parse_port(rest.substr(colon + 1), item);
  } else {
    a.host = std::string(rest);
  }
  if (a.host.empty() || a.host.find_first_of(" \t'\"=") != std::string::npos)
    throw std::invalid_argument("bad host in sql.servers item '" + std::string(item) + "'");
  return a;
}

// A token of a space-separated connect string is key=...
bool is_key(std::string_view token, std::string_view key) {
  return token.size() > key.size() && token.compare(0, key.size(), key) == 0 &&
         token[key.size()] == '=';
}

}  // namespace

std::vector<ServerAddress> parse_servers(std::string_view text, int default_port) {
  std::vector<ServerAddress> out;
  while (true) {
    auto comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    if (item.empty()) throw std::invalid_argument("empty item in sql.servers");
    out.push_back(parse_item(item, default_port));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

int connect_string_port(std::string_view connect_string) {
  std::size_t pos = 0;
  while (pos < connect_string.size()) {
    auto end = connect_string.find(' ', pos);
    if (end == std::string_view::npos) end = connect_string.size();
    std::string_view token = connect_string.substr(pos, end - pos);
    if (is_key(token, "port")) {
      try {
        return parse_port(token.substr(5), token);
      } catch (const std::invalid_argument&) {
        return 3306;
      }
    }
    pos = end + 1;
  }
  return 3306;
}

std::string connect_string_for(std::string_view connect_string, const ServerAddress& server) {
  std::string out = "host=" + server.host + " port=" + std::to_string(server.port);
  std::size_t pos = 0;
  while (pos < connect_string.size()) {
    auto end = connect_string.find(' ', pos);
    if (end == std::string_view::npos) end = connect_string.size();
    std::string_view token = connect_string.substr(pos, end - pos);
    if (!token.empty() && !is_key(token, "host") && !is_key(token, "port")) {
      out += ' ';
      out += token;
    }
    pos = end + 1;
  }
  return out;
}

ServerChooser::ServerChooser(std::size_t count, std::chrono::milliseconds first_retry,
                             std::chrono::milliseconds max_retry)
    : servers_(count < 1 ? 1 : count), first_retry_(first_retry), max_retry_(max_retry) {}

bool ServerChooser::backing_off(std::size_t server, TimePoint now) const {
  return servers_[server].failures > 0 && now < servers_[server].retry_at;
}

std::vector<std::size_t> ServerChooser::order(TimePoint now) const {
  std::vector<std::size_t> live, resting;
  for (std::size_t i = 0; i < servers_.size(); ++i)
    (backing_off(i, now) ? resting : live).push_back(i);
  // Those that failed lately come last, the one to retry soonest first.
  std::stable_sort(resting.begin(), resting.end(), [&](std::size_t a, std::size_t b) {
    return servers_[a].retry_at < servers_[b].retry_at;
  });
  live.insert(live.end(), resting.begin(), resting.end());
  return live;
}

void ServerChooser::failed(std::size_t server, TimePoint now) {
  State& s = servers_[server];
  auto wait = first_retry_;
  for (int i = 0; i < s.failures && wait < max_retry_; ++i) wait *= 2;
  wait = std::min(wait, max_retry_);
  ++s.failures;
  s.retry_at = now + wait;
}

void ServerChooser::succeeded(std::size_t server) {
  servers_[server] = State{};
}

}  // namespace cppfpm::sql
