#include "sql/cache_store.h"

#include <charconv>

namespace cppfpm::sql {

MemoryCacheStore::MemoryCacheStore(Clock now, std::size_t max_value)
    : now_(std::move(now)), max_value_(max_value) {}

bool MemoryCacheStore::live(const Item& item) const {
  return item.expires == std::chrono::steady_clock::time_point{} || now_() < item.expires;
}

MemoryCacheStore::Item MemoryCacheStore::make(std::string_view value,
                                              std::chrono::seconds ttl) const {
  Item item{std::string(value), {}};
  if (ttl.count() > 0) item.expires = now_() + ttl;
  return item;
}

std::size_t MemoryCacheStore::size() {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, item] : items_) n += live(item) ? 1 : 0;
  return n;
}

CacheResult MemoryCacheStore::get(std::string_view key, std::string& value) {
  std::lock_guard lock(mutex_);
  if (down) return CacheResult::unavailable;
  auto it = items_.find(key);
  if (it == items_.end() || !live(it->second)) return CacheResult::not_found;
  value = it->second.value;
  return CacheResult::ok;
}

CacheResult MemoryCacheStore::set(std::string_view key, std::string_view value,
                                  std::chrono::seconds ttl) {
  std::lock_guard lock(mutex_);
  if (down) return CacheResult::unavailable;
  if (value.size() > max_value_) return CacheResult::too_large;
  items_.insert_or_assign(std::string(key), make(value, ttl));
  return CacheResult::ok;
}

CacheResult MemoryCacheStore::add(std::string_view key, std::string_view value,
                                  std::chrono::seconds ttl) {
  std::lock_guard lock(mutex_);
  if (down) return CacheResult::unavailable;
  auto it = items_.find(key);
  if (it != items_.end() && live(it->second)) return CacheResult::not_stored;
  items_.insert_or_assign(std::string(key), make(value, ttl));
  return CacheResult::ok;
}

CacheResult MemoryCacheStore::remove(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (down) return CacheResult::unavailable;
  auto it = items_.find(key);
  if (it == items_.end()) return CacheResult::not_found;
  items_.erase(it);
  return CacheResult::ok;
}

CacheResult MemoryCacheStore::increment(std::string_view key, std::uint64_t& new_value) {
  std::lock_guard lock(mutex_);
  if (down) return CacheResult::unavailable;
  auto it = items_.find(key);
  if (it == items_.end() || !live(it->second)) return CacheResult::not_found;
  std::uint64_t v = 0;
  const std::string& text = it->second.value;
  std::from_chars(text.data(), text.data() + text.size(), v);
  new_value = v + 1;
  it->second.value = std::to_string(new_value);
  return CacheResult::ok;
}

}  // namespace cppfpm::sql
