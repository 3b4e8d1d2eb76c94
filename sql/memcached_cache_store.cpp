#include "sql/memcached_cache_store.h"

#include <libmemcached/memcached.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "server/memcached/expiry.h"
#include "server/memcached/reply.h"

namespace cppfpm::sql {
namespace {

CacheResult classify(memcached_return_t rc) {
  switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
    case MEMCACHED_DELETED:
      return CacheResult::ok;
    case MEMCACHED_NOTFOUND:
      return CacheResult::not_found;
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
      return CacheResult::not_stored;
    // "SERVER_ERROR object too large for cache" (or out of memory): this
    // value is not stored, the server itself is fine.
    case MEMCACHED_E2BIG:
    case MEMCACHED_SERVER_ERROR:
      return CacheResult::too_large;
    default:
      return CacheResult::unavailable;
  }
}

}  // namespace

MemcachedCacheStore::MemcachedCacheStore(std::vector<memcached::Server> servers,
                                         memcached::Timeouts timeouts)
    : servers_(std::move(servers)),
      timeouts_(timeouts),
      names_(memcached::server_names(servers_)),
      outage_(timeouts_.outage_grace(), memcached::OutageLog::kQueryCacheSlot),
      handles_([this] {
        return std::make_unique<memcached::Handle>(
            memcached::make_memcached_handle(servers_, timeouts_, "query cache"));
      }) {
  if (servers_.empty()) throw std::invalid_argument("cache.servers: no memcached server given");
}

MemcachedCacheStore::~MemcachedCacheStore() = default;

memcached_st* MemcachedCacheStore::handle() {
  const memcached::Handle* h = handles_.local();
  if (h != nullptr) return h->get();
  if (outage_.failed())
    spdlog::error(
        "query cache: memcached unreachable ({}): no libmemcached handle; queries go "
        "straight to MariaDB until it is back",
        names_);
  return nullptr;
}

CacheResult MemcachedCacheStore::answer(memcached_st* handle, memcached_return_t rc,
                                        const char* call) {
  switch (memcached::classify_reply(rc)) {
    case memcached::Reply::answered:
      if (outage_.succeeded()) spdlog::info("query cache: memcached reachable again ({})", names_);
      break;
    case memcached::Reply::refused:
      break;
    case memcached::Reply::unreachable:
      if (outage_.failed())
        spdlog::error(
            "query cache: memcached unreachable ({}): {} failed: {}; queries go straight "
            "to MariaDB until it is back",
            names_, call, memcached_last_error_message(handle));
      break;
  }
  return classify(rc);
}

std::size_t MemcachedCacheStore::max_value_size() const {
  // memcached's default item size limit (-I 1m) holds the item header and
  // the key as well as the value.
  return 1024 * 1024 - 512;
}

CacheResult MemcachedCacheStore::get(std::string_view key, std::string& value) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  std::unique_ptr<char, decltype(&std::free)> data(
      memcached_get(mc, key.data(), key.size(), &length, &flags, &rc), &std::free);
  const CacheResult result = answer(mc, rc, "memcached_get");
  if (result == CacheResult::ok) value.assign(data ? data.get() : "", data ? length : 0);
  return result;
}

CacheResult MemcachedCacheStore::set(std::string_view key, std::string_view value,
                                     std::chrono::seconds ttl) {
  return store(memcached_set, "memcached_set", key, value, ttl);
}

CacheResult MemcachedCacheStore::add(std::string_view key, std::string_view value,
                                     std::chrono::seconds ttl) {
  return store(memcached_add, "memcached_add", key, value, ttl);
}

CacheResult MemcachedCacheStore::store(StoreCall call, const char* call_name, std::string_view key,
                                       std::string_view value, std::chrono::seconds ttl) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  const time_t exptime = memcached::memcached_exptime_from_now(ttl);
  return answer(mc, call(mc, key.data(), key.size(), value.data(), value.size(), exptime, 0),
                call_name);
}

CacheResult MemcachedCacheStore::remove(std::string_view key) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  return answer(mc, memcached_delete(mc, key.data(), key.size(), 0), "memcached_delete");
}

CacheResult MemcachedCacheStore::increment(std::string_view key, std::uint64_t& new_value) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  return answer(mc, memcached_increment(mc, key.data(), key.size(), 1, &new_value),
                "memcached_increment");
}

}  // namespace cppfpm::sql
