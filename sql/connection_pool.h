#pragma once
// A fixed set of SOCI sessions on MariaDB, lent out one caller at a time.
// A Lease gives its connection back when it goes out of scope, whatever the
// path (return, exception). Connections open lazily and reopen after a
// failure, so the pool heals by itself after a MariaDB restart.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace cppfpm::sql {

struct PoolOptions {
  std::string connect_string;  // SOCI mysql form (mysql_connect_string())
  std::string dsn_for_logs;    // already redacted
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

 private:
  void give_back(Slot* slot);
  void open(Slot& slot);

  PoolOptions options_;
  std::vector<Slot> slots_;
  std::vector<Slot*> free_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::atomic<bool> down_{false};  // logs once per outage, not per request
  friend class Lease;
};

}  // namespace cppfpm::sql
