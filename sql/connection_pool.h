#pragma once
// A fixed set of SOCI sessions on MariaDB, lent out one caller at a time.
// A Lease gives its connection back when it goes out of scope, whatever the
// path (return, exception). Connections open lazily and reopen after a
// failure, so the pool heals by itself after a MariaDB restart.
// With several servers (sql.servers) a connection opens on the first live
// one a ServerChooser names (sql/server_list.h). A Galera node that is not
// ready (wsrep_ready OFF, or not Synced: a donor, a joiner) counts as down,
// and its sessions wait for causality (wsrep_sync_wait = 1), so a read
// after a write sees the write whichever node took it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sql/server_list.h"

namespace soci {
class session;
}

namespace cppfpm::sql {

struct PoolOptions {
  std::string connect_string;  // SOCI mysql form (mysql_connect_string())
  std::string dsn_for_logs;    // already redacted
  // Several servers: one connect string each (and its name for logs), in
  // preference order; empty means connect_string alone.
  std::vector<std::string> server_connect_strings;
  std::vector<std::string> server_names;
  // A server that failed is skipped this long, doubling per failure.
  std::chrono::milliseconds retry_first{1000}, retry_max{10000};
  int size = 8;
  std::chrono::milliseconds borrow_timeout{2000};  // wait for a free connection
  // A connection unused this long answers "SELECT 1" before it is lent:
  // MariaDB may have dropped it (wait_timeout, restart).
  std::chrono::milliseconds idle_check{5000};
};

class ConnectionPool {
 public:
  struct Slot {
    std::unique_ptr<soci::session> session;
    std::chrono::steady_clock::time_point last_used{};
    std::size_t server = 0;  // index into the pool's servers
    bool wsrep = false;      // the server runs Galera (wsrep_on = ON)
  };

  class Lease {
   public:
    Lease(ConnectionPool& pool, Slot* slot) : pool_(&pool), slot_(slot) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) {
      other.slot_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    soci::session& session() { return *slot_->session; }
    // The connection is broken: close it; the next borrower opens a new one.
    void discard();
    // Replaces the connection by a fresh one; throws Unavailable.
    void reconnect();

   private:
    ConnectionPool* pool_;
    Slot* slot_;
  };

  explicit ConnectionPool(PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connected session, checked when it sat idle. Throws Unavailable when
  // none is free within borrow_timeout or MariaDB cannot be reached.
  Lease borrow();
  int size() const { return static_cast<int>(slots_.size()); }
  int idle() const;
  // The server new connections go to now (an index into the server list),
  // and how many servers there are.
  std::size_t preferred_server() const;
  std::size_t server_count() const { return connect_strings_.size(); }

 private:
  void give_back(Slot* slot);
  void open(Slot& slot);
  bool usable(Slot& slot);

  PoolOptions options_;
  std::vector<Slot> slots_;
  std::vector<Slot*> free_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::atomic<bool> down_{false};  // logs once per outage, not per request
  std::vector<std::string> connect_strings_, names_;
  mutable std::mutex servers_mutex_;
  ServerChooser chooser_;
  std::atomic<std::size_t> current_{static_cast<std::size_t>(-1)};  // for the "moved" log line
  friend class Lease;
};

}  // namespace cppfpm::sql
