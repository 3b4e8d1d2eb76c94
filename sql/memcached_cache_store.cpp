#include "sql/memcached_cache_store.h"

#include "server/memcached/handle.h"

#include <libmemcached/memcached.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace cppfpm::sql {

// A memcached_st remembers the process that made it: after fork() the
// child must neither use nor free the parent's (memcached_free would send
// "quit" on a shared socket), so a foreign handle is abandoned.
class MemcachedCacheStore::Handle {
 public:
  Handle(const std::vector<memcached::Server>& servers, std::chrono::milliseconds timeout)
      : owner_(::getpid()),
        mc_(memcached::make_memcached_handle(servers, timeout, std::chrono::seconds(2), "query cache")) {}
  ~Handle() {
    if (mc_ && owned_here()) memcached_free(mc_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  bool owned_here() const { return owner_ == ::getpid(); }
  memcached_st* get() const { return mc_; }

 private:
  pid_t owner_;
  memcached_st* mc_;
};

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

// memcached reads an exptime above 30 days as an absolute unix time.
time_t exptime(std::chrono::seconds ttl) {
  constexpr long long kMaxRelative = 60LL * 60 * 24 * 30;
  long long s = ttl.count();
  if (s <= kMaxRelative) return static_cast<time_t>(s < 0 ? 0 : s);
  return std::time(nullptr) + static_cast<time_t>(s);
}

}  // namespace

MemcachedCacheStore::MemcachedCacheStore(std::vector<memcached::Server> servers,
                                         std::chrono::milliseconds timeout)
    : servers_(std::move(servers)), timeout_(timeout) {
  if (servers_.empty()) throw std::invalid_argument("cache.servers: no memcached server given");
}

MemcachedCacheStore::~MemcachedCacheStore() = default;

MemcachedCacheStore::Handle* MemcachedCacheStore::handle() {
  auto& slot = handles_.local();
  if (!slot || !slot->owned_here() || !slot->get()) {
    slot = std::make_unique<Handle>(servers_, timeout_);
  }
  return slot->get() ? slot.get() : nullptr;
}

std::size_t MemcachedCacheStore::max_value_size() const {
  // memcached's default item size limit (-I 1m) holds the item header and
  // the key as well as the value.
  return 1024 * 1024 - 512;
}

CacheResult MemcachedCacheStore::get(std::string_view key, std::string& value) {
  Handle* h = handle();
  if (!h) return CacheResult::unavailable;
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  std::unique_ptr<char, decltype(&std::free)> data(
      memcached_get(h->get(), key.data(), key.size(), &length, &flags, &rc), &std::free);
  if (rc != MEMCACHED_SUCCESS) return classify(rc);
  value.assign(data ? data.get() : "", data ? length : 0);
  return CacheResult::ok;
}

CacheResult MemcachedCacheStore::set(std::string_view key, std::string_view value,
                                     std::chrono::seconds ttl) {
  Handle* h = handle();
  if (!h) return CacheResult::unavailable;
  return classify(
      memcached_set(h->get(), key.data(), key.size(), value.data(), value.size(), exptime(ttl), 0));
}

CacheResult MemcachedCacheStore::add(std::string_view key, std::string_view value,
                                     std::chrono::seconds ttl) {
  Handle* h = handle();
  if (!h) return CacheResult::unavailable;
  return classify(
      memcached_add(h->get(), key.data(), key.size(), value.data(), value.size(), exptime(ttl), 0));
}

CacheResult MemcachedCacheStore::remove(std::string_view key) {
  Handle* h = handle();
  if (!h) return CacheResult::unavailable;
  return classify(memcached_delete(h->get(), key.data(), key.size(), 0));
}

CacheResult MemcachedCacheStore::increment(std::string_view key, std::uint64_t& new_value) {
  Handle* h = handle();
  if (!h) return CacheResult::unavailable;
  return classify(memcached_increment(h->get(), key.data(), key.size(), 1, &new_value));
}

}  // namespace cppfpm::sql
