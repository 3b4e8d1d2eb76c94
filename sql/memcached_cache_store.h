#pragma once
// CacheStore on memcached through libmemcached, as the session store uses
// it: text protocol, one memcached_st per thread of each process (opened on
// first use), every call bounded by `timeouts.call`, a dead server skipped
// for `timeouts.retry` rather than dialled on every request, a connection
// found closed (the server restarted) opened again for one more try. It
// logs one line when a server goes away and one when it is back, per
// server and pool (memcached::OutageLog says which calls count).
#include <chrono>
#include <string>
#include <vector>

#include "server/memcached/handle.h"
#include "server/memcached/outage.h"
#include "server/memcached/per_thread.h"
#include "server/memcached/servers.h"
#include "server/memcached/timeouts.h"
#include "sql/cache_store.h"

namespace cppfpm::sql {

class MemcachedCacheStore final : public CacheStore {
 public:
  // Throws std::invalid_argument when `servers` is empty.
  explicit MemcachedCacheStore(std::vector<memcached::Server> servers,
                               memcached::Timeouts timeouts = {
                                   .call = memcached::kDefaultQueryCacheTimeout});
  ~MemcachedCacheStore() override;

  CacheResult get(std::string_view key, std::string& value) override;
  CacheResult set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult remove(std::string_view key) override;
  CacheResult increment(std::string_view key, std::uint64_t& new_value) override;
  std::size_t max_value_size() const override;

 private:
  // This thread's handle, or nullptr (logged as an outage) when
  // libmemcached could not set one up.
  memcached_st* handle();
  // The index in servers_ of the server `key` goes to.
  std::size_t server_of(memcached_st* handle, std::string_view key) const;
  // Runs `call` on the server of `key` (again once on a lost connection)
  // and says what its answer means for the query cache; the start and the
  // end of that server's outage are logged.
  template <typename Call>
  CacheResult ask(memcached_st* handle, std::string_view key, const char* call_name, Call call);
  // memcached_set and memcached_add: one signature, one path.
  using StoreCall = memcached_return_t (*)(memcached_st*, const char*, size_t, const char*, size_t,
                                           time_t, std::uint32_t);
  CacheResult store(StoreCall call, const char* call_name, std::string_view key,
                    std::string_view value, std::chrono::seconds ttl);

  std::vector<memcached::Server> servers_;
  memcached::Timeouts timeouts_;
  std::string names_;
  memcached::OutageLog outage_;                     // no handle at all
  std::vector<memcached::OutageLog> servers_down_;  // one per server
  memcached::PerThread<memcached::Handle> handles_;
};

}  // namespace cppfpm::sql
