#include "sql/server_list.h"

#include <algorithm>
#include <stdexcept>

#include "server/text/host_port.h"
#include "server/text/strings.h"

namespace cppfpm::sql {
namespace {

// A token of a space-separated connect string is key=...
bool is_key(std::string_view token, std::string_view key) {
  return token.size() > key.size() && token.compare(0, key.size(), key) == 0 &&
         token[key.size()] == '=';
}

}  // namespace

std::vector<ServerAddress> parse_servers(std::string_view list, int default_port) {
  std::string why;
  auto items = text::parse_host_port_list(list, default_port, &why);
  if (!items) throw std::invalid_argument("sql.servers: " + why);
  std::vector<ServerAddress> out;
  for (auto& item : *items) out.push_back({std::move(item.host), item.port});
  return out;
}

int connect_string_port(std::string_view connect_string) {
  std::size_t pos = 0;
  while (pos < connect_string.size()) {
    auto end = connect_string.find(' ', pos);
    if (end == std::string_view::npos) end = connect_string.size();
    std::string_view token = connect_string.substr(pos, end - pos);
    if (is_key(token, "port")) {
      auto digits = token.substr(5);
      if (digits.size() > 5 || !text::all_digits(digits)) return 3306;
      int port = std::stoi(std::string(digits));
      return port >= 1 && port <= 65535 ? port : 3306;
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
