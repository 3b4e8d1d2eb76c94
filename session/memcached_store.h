#pragma once
// The production SessionStore: memcached through libmemcached, laid out as
// pecl-memcache lays sessions out (the bare id as key, the `php`-format
// value, flags 0, text protocol), so PHP and C++ pages share sessions.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/memcached/per_thread.h"
#include "server/memcached/servers.h"
#include "server/memcached/timeouts.h"
#include "session/memcached_connection.h"
#include "session/memcached_outage.h"
#include "session/store.h"

namespace cppfpm::session {

struct MemcachedOptions {
  // Bound on each connect, send and receive (session.memcached_timeout),
  // and how long a server that failed is skipped before it is dialled again.
  memcached::Timeouts timeouts{};
  // Extra copies of each key on the servers that follow its ketama server
  // in save_path (session.replicas). Written to all, read from the first
  // that has it, locked on the first that answers.
  int replicas = 0;
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
                          std::chrono::milliseconds timeout = memcached::kDefaultSessionTimeout);
  MemcachedStore(std::vector<memcached::Server> servers, std::chrono::milliseconds timeout);
  MemcachedStore(std::vector<memcached::Server> servers, MemcachedOptions options);
  MemcachedStore(std::string_view save_path, MemcachedOptions options);
  ~MemcachedStore() override;

  MemcachedStore(const MemcachedStore&) = delete;
  MemcachedStore& operator=(const MemcachedStore&) = delete;

  // Keys failing is_valid_store_key() never reach memcached: reads,
  // touches and removes answer not_found, writes unavailable. Lifetimes
  // follow memcached::memcached_exptime (above 30 days, an absolute time).
  StoreResult read(std::string_view key, std::string& out) override;
  StoreResult write(std::string_view key, std::string_view value,
                    std::chrono::seconds ttl) override;
  StoreResult touch(std::string_view key, std::chrono::seconds ttl) override;
  StoreResult remove(std::string_view key) override;
  StoreResult try_lock(std::string_view lock_key, std::chrono::seconds expire,
                       std::uint64_t token) override;
  StoreResult unlock(std::string_view lock_key, std::uint64_t token, bool verify) override;

  const std::vector<memcached::Server>& servers() const { return servers_; }

 private:
  // The answer when this thread has no connection (libmemcached failed).
  StoreResult no_connection(std::string_view key);
  // Sends `call` (named `call_name` in the log) to each server holding
  // `key`, in ketama order, until `stop(reply)` says the answer is known;
  // every reply is classified and its failure collected.
  template <typename Call, typename Stop>
  Failures ask_holders(MemcachedConnection& conn, std::string_view key, const char* call_name,
                       Call call, Stop stop);
  // This thread's handle on `server`, opened again when it failed before
  // the server was last seen back, or when no call of the pool has tried
  // the server for timeouts.probe.
  memcached_st* handle_for(MemcachedConnection& conn, std::size_t server);
  // outages_.classify, and a failure to reach the server noted on the
  // handle (not a call libmemcached skipped while it waits to retry).
  ServerReply classify(MemcachedConnection& conn, std::size_t server, memcached_return_t rc,
                       const char* call, std::string_view key, const CallInfo& info);

  std::vector<memcached::Server> servers_;
  MemcachedOptions options_;
  MemcachedOutages outages_;
  memcached::PerThread<MemcachedConnection> connections_;
};

}  // namespace cppfpm::session
