#pragma once
// The production SessionStore: memcached through libmemcached, laid out as
// pecl-memcache lays sessions out (the bare id as key, the `php`-format
// value, flags 0, text protocol), so PHP and C++ pages share sessions.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libmemcached/memcached.h>
#include <tbb/enumerable_thread_specific.h>

#include "server/memcached/outage.h"
#include "server/memcached/servers.h"
#include "session/store.h"

namespace cppfpm::session {

struct MemcachedOptions {
  // Bound on each connect, send and receive (session.memcached_timeout).
  std::chrono::milliseconds timeout{1000};
  // Extra copies of each key on the servers that follow its ketama server
  // in save_path (session.replicas). Written to all, read from the first
  // that has it, locked on the first that answers.
  int replicas = 0;
  // How long a server that failed is skipped before it is dialled again.
  std::chrono::seconds retry_timeout{2};
  // Values of this many bytes or more are stored zlib-compressed with
  // pecl-memcache's flag when that saves 20 % (session.compress_threshold);
  // 0: never. Compressed values are inflated on read whatever this is.
  std::size_t compress_threshold = 0;
};

class MemcachedStore : public SessionStore {
 public:
  // Connects lazily: nothing is opened until a thread first uses the
  // store, and each thread (in each process) gets its own connection, so
  // the store can be built in a master process and used after fork().
  // Throws std::invalid_argument for a bad save_path.
  explicit MemcachedStore(std::string_view save_path,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  MemcachedStore(std::vector<memcached::Server> servers, std::chrono::milliseconds timeout);
  MemcachedStore(std::vector<memcached::Server> servers, MemcachedOptions options);
  ~MemcachedStore() override;

  MemcachedStore(const MemcachedStore&) = delete;
  MemcachedStore& operator=(const MemcachedStore&) = delete;

  // Keys failing is_valid_store_key() never reach memcached: reads,
  // touches and removes answer not_found, writes unavailable. A ttl above
  // 30 days is sent as an absolute time (memcached reads exptime >
  // 2592000 as a unix time).
  StoreResult read(std::string_view key, std::string& out) override;
  StoreResult write(std::string_view key, std::string_view value,
                    std::chrono::seconds ttl) override;
  StoreResult touch(std::string_view key, std::chrono::seconds ttl) override;
  StoreResult remove(std::string_view key) override;
  StoreResult try_lock(std::string_view lock_key, std::chrono::seconds expire) override;
  StoreResult unlock(std::string_view lock_key, std::chrono::seconds expire) override;

  const std::vector<memcached::Server>& servers() const { return servers_; }

  class Connection;  // one memcached_st, owned by one thread of one process

 private:
  std::vector<memcached::Server> servers_;
  MemcachedOptions options_;
  std::string servers_for_logs_;
  memcached::OutageLog outage_;
  tbb::enumerable_thread_specific<std::unique_ptr<Connection>> connections_;

  // This thread's connection, made on first use; nullptr if libmemcached
  // could not set one up.
  Connection* connection();
  // Outage bookkeeping (one log line when memcached goes away, one when it
  // is back, whatever the number of requests and children in between).
  std::vector<std::string> server_names_;
  std::vector<memcached::OutageLog> server_outages_;
  static thread_local inline std::string last_error_;
  // The server answered but refused (value too big, not a number...): an
  // error of this request, not an outage.
  static thread_local inline bool refused_ = false;
  std::chrono::milliseconds grace() const;
  StoreResult classify(std::size_t server, memcached_return_t rc, const char* call,
                       std::string_view key);
  StoreResult outcome(StoreResult result, const char* call, std::string_view key);
};

// The exptime memcached should get for a lifetime of `ttl` at `now_unix`.
std::int64_t memcached_exptime(std::chrono::seconds ttl, std::int64_t now_unix);

}  // namespace cppfpm::session
