#pragma once
// Several MariaDB servers behind one sql.dsn (sql.servers): which one a new
// connection goes to. A Galera cluster's nodes, or a primary and its
// replicas: cppfpm writes to one at a time, the first live one in list
// order, so every child and every backend agrees on it.
//
// - A server that refused a connection, or is a Galera node not ready (wsrep_ready OFF, not
// Synced), is
//   skipped for a back-off (first_retry, doubling up to max_retry), then
//   tried again first: when it is back, new connections return to it.
// - Servers in back-off are still tried, last, when the others fail, so a
//   lone server behaves as a single sql.dsn always did.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cppfpm::sql {

struct ServerAddress {
  std::string host;
  int port = 3306;
  bool operator==(const ServerAddress&) const = default;
};

// "h1:3306, h2, [::1]:3307" -> addresses; a missing port is default_port.
// Throws std::invalid_argument naming the bad item.
std::vector<ServerAddress> parse_servers(std::string_view text, int default_port = 3306);

// The port=N of a SOCI mysql connect string, or 3306.
int connect_string_port(std::string_view connect_string);

// The connect string with its host= and port= replaced by `server`'s.
std::string connect_string_for(std::string_view connect_string, const ServerAddress& server);

class ServerChooser {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ServerChooser(std::size_t count, std::chrono::milliseconds first_retry,
                std::chrono::milliseconds max_retry);

  // The servers to try for a new connection at `now`, best first.
  std::vector<std::size_t> order(TimePoint now) const;
  // The server a new connection would go to first.
  std::size_t preferred(TimePoint now) const { return order(now).front(); }
  void failed(std::size_t server, TimePoint now);
  void succeeded(std::size_t server);
  bool backing_off(std::size_t server, TimePoint now) const;
  std::size_t size() const { return servers_.size(); }

 private:
  struct State {
    int failures = 0;
    TimePoint retry_at{};
  };
  std::vector<State> servers_;
  std::chrono::milliseconds first_retry_, max_retry_;
};

}  // namespace cppfpm::sql
