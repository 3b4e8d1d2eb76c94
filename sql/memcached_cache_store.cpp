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
  for (std::size_t i = 0; i < servers_.size(); ++i)
    servers_down_.emplace_back(timeouts_.outage_grace(),
                               memcached::OutageLog::query_cache_server_slot(static_cast<int>(i)));
}

MemcachedCacheStore::~MemcachedCacheStore() = default;

memcached_st* MemcachedCacheStore::handle() {
  const memcached::Handle* h = handles_.local();
  if (h != nullptr) return h->get();
  if (outage_.failed())
    spdlog::error(
        "query cache: no libmemcached handle for memcached ({}); queries go straight to "
        "MariaDB until there is one",
        names_);
  return nullptr;
}

std::size_t MemcachedCacheStore::server_of(memcached_st* handle, std::string_view key) const {
  if (servers_.size() == 1) return 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  const memcached_instance_st* target =
      memcached_server_by_key(handle, key.data(), key.size(), &rc);
  const std::uint32_t count = memcached_server_count(handle);
  for (std::uint32_t i = 0; i < count && i < servers_.size(); ++i)
    if (memcached_server_instance_by_position(handle, i) == target) return i;
  return 0;
}

// With one server its outage is the cache's, and the lines say so as they
// always have; with several, each line names its server.
template <typename Call>
CacheResult MemcachedCacheStore::ask(memcached_st* handle, std::string_view key,
                                     const char* call_name, Call call) {
  const std::size_t server = server_of(handle, key);
  memcached::OutageLog& state = servers_down_[server];
  const auto started = memcached::OutageLog::Clock::now();
  const memcached_return_t rc = memcached::call_with_retry(call);
  // "memcached unreachable (h:p)" with one server, "memcached h:p
  // unreachable" with several.
  auto before = [&] {
    return servers_.size() == 1 ? std::string() : memcached::server_name(servers_[server]) + " ";
  };
  auto after = [&] { return servers_.size() == 1 ? " (" + names_ + ")" : std::string(); };
  switch (memcached::classify_reply(rc)) {
    case memcached::Reply::answered:
      outage_.succeeded();  // a handle was set up after all
      if (state.succeeded(started))
        spdlog::info("query cache: memcached {}reachable again{}", before(), after());
      break;
    case memcached::Reply::refused:
      break;
    case memcached::Reply::unreachable:
      if (!memcached::skipped_server(rc) && state.failed(started))
        spdlog::error(
            "query cache: memcached {}unreachable{}: {} failed: {}; {} go straight to MariaDB "
            "until it is back",
            before(), after(), call_name, memcached_last_error_message(handle),
            servers_.size() == 1 ? "queries" : "its queries");
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
  const CacheResult result = ask(mc, key, "memcached_get", [&] {
    std::unique_ptr<char, decltype(&std::free)> data(
        memcached_get(mc, key.data(), key.size(), &length, &flags, &rc), &std::free);
    if (rc == MEMCACHED_SUCCESS) value.assign(data ? data.get() : "", data ? length : 0);
    return rc;
  });
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
  return ask(mc, key, call_name, [&] {
    return call(mc, key.data(), key.size(), value.data(), value.size(), exptime, 0);
  });
}

CacheResult MemcachedCacheStore::remove(std::string_view key) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  return ask(mc, key, "memcached_delete",
             [&] { return memcached_delete(mc, key.data(), key.size(), 0); });
}

CacheResult MemcachedCacheStore::increment(std::string_view key, std::uint64_t& new_value) {
  memcached_st* mc = handle();
  if (mc == nullptr) return CacheResult::unavailable;
  // A retried increment that had run counts twice: one more invalidation.
  return ask(mc, key, "memcached_increment",
             [&] { return memcached_increment(mc, key.data(), key.size(), 1, &new_value); });
}

}  // namespace cppfpm::sql
