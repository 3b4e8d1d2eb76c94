#pragma once
// CacheStore on memcached through libmemcached, as the session store uses
// it: text protocol, one memcached_st per thread of each process (opened on
// first use), every call bounded by `timeout`, a dead server skipped for
// two seconds rather than dialled on every request.
#include <chrono>
#include <memory>
#include <vector>

#include <tbb/enumerable_thread_specific.h>

#include "server/memcached/servers.h"
#include "sql/cache_store.h"

namespace cppfpm::sql {

class MemcachedCacheStore final : public CacheStore {
 public:
  // Throws std::invalid_argument when `servers` is empty.
  MemcachedCacheStore(std::vector<memcached::Server> servers, std::chrono::milliseconds timeout);
  ~MemcachedCacheStore() override;

  CacheResult get(std::string_view key, std::string& value) override;
  CacheResult set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult remove(std::string_view key) override;
  CacheResult increment(std::string_view key, std::uint64_t& new_value) override;
  std::size_t max_value_size() const override;

  class Handle;  // one memcached_st, owned by one thread of one process

 private:
  Handle* handle();

  std::vector<memcached::Server> servers_;
  std::chrono::milliseconds timeout_;
  tbb::enumerable_thread_specific<std::unique_ptr<Handle>> handles_;
};

}  // namespace cppfpm::sql
