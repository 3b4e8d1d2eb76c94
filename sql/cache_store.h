#pragma once
// The few memcached operations the query cache needs, as an interface: the
// production one is memcached (sql/memcached_cache_store.h), the unit tests
// use MemoryCacheStore with a hand-driven clock.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace cppfpm::sql {

enum class CacheResult {
  ok,
  not_found,    // get/increment: no such key
  not_stored,   // add: the key exists
  too_large,    // set: over the server's item size limit
  unavailable,  // the server cannot be reached (or timed out)
};

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  virtual CacheResult get(std::string_view key, std::string& value) = 0;
  virtual CacheResult set(std::string_view key, std::string_view value,
                          std::chrono::seconds ttl) = 0;
  // Stores only when the key is absent (memcached `add`): an atomic claim.
  virtual CacheResult add(std::string_view key, std::string_view value,
                          std::chrono::seconds ttl) = 0;
  virtual CacheResult remove(std::string_view key) = 0;
  // Adds one to a decimal value (memcached `incr`); not_found when absent.
  virtual CacheResult increment(std::string_view key, std::uint64_t& new_value) = 0;
  // The largest value set() takes (memcached's -I, 1 MiB by default, less
  // the item header).
  virtual std::size_t max_value_size() const = 0;
};

// In-process, thread-safe; ttl 0 = never expires. `now` is injectable.
class MemoryCacheStore final : public CacheStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit MemoryCacheStore(
      Clock now = [] { return std::chrono::steady_clock::now(); },
      std::size_t max_value = 1000 * 1024);

  CacheResult get(std::string_view key, std::string& value) override;
  CacheResult set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override;
  CacheResult remove(std::string_view key) override;
  CacheResult increment(std::string_view key, std::uint64_t& new_value) override;
  std::size_t max_value_size() const override { return max_value_; }

  bool down = false;  // every call answers unavailable, as a dead server
  std::size_t size();

 private:
  struct Item {
    std::string value;
    std::chrono::steady_clock::time_point expires{};  // epoch = never
  };
  bool live(const Item& item) const;
  Item make(std::string_view value, std::chrono::seconds ttl) const;

  Clock now_;
  std::size_t max_value_;
  std::mutex mutex_;
  std::map<std::string, Item, std::less<>> items_;
};

}  // namespace cppfpm::sql
