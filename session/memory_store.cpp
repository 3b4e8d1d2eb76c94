#include "session/memory_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "session/lock_token.h"
#include "session/store_key.h"

namespace cppfpm::session {
namespace {

// Expired entries are dropped when read, and all of them every this many
// writes, so abandoned sessions do not pile up.
constexpr std::size_t kSweepEveryWrites = 1024;

}  // namespace

MemoryStore::MemoryStore(Clock clock) : clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point MemoryStore::expiry_for(std::chrono::seconds ttl) const {
  using TimePoint = std::chrono::steady_clock::time_point;
  if (ttl.count() == 0) return TimePoint::max();
  const TimePoint now = clock_();
  if (ttl.count() < 0) return now;
  const auto room = std::chrono::duration_cast<std::chrono::seconds>(TimePoint::max() - now);
  return ttl >= room ? TimePoint::max() : now + ttl;
}

MemoryStore::Map::iterator MemoryStore::do_find_live(std::string_view key) {
  auto it = entries_.find(std::string(key));
  if (it != entries_.end() && it->second.expires != std::chrono::steady_clock::time_point::max() &&
      it->second.expires <= clock_()) {
    entries_.erase(it);
    return entries_.end();
  }
  return it;
}

void MemoryStore::do_sweep_expired() {
  const auto now = clock_();
  std::erase_if(entries_, [now](const auto& item) {
    return item.second.expires != std::chrono::steady_clock::time_point::max() &&
           item.second.expires <= now;
  });
}

template <typename Use>
StoreResult MemoryStore::with_live_entry(std::string_view key, Use use) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  std::lock_guard lock(mutex_);
  const auto it = do_find_live(key);
  if (it == entries_.end()) return StoreResult::not_found;
  use(it);
  return StoreResult::ok;
}

StoreResult MemoryStore::read(std::string_view key, std::string& out) {
  return with_live_entry(key, [&](Map::iterator it) { out = it->second.value; });
}

StoreResult MemoryStore::write(std::string_view key, std::string_view value,
                               std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) {
    spdlog::warn("session store: refused to write under an invalid key ({} bytes)", key.size());
    return StoreResult::unavailable;
  }
  const auto expires = expiry_for(ttl);
  std::lock_guard lock(mutex_);
  if (++writes_since_sweep_ >= kSweepEveryWrites) {
    writes_since_sweep_ = 0;
    do_sweep_expired();
  }
  entries_.insert_or_assign(std::string(key), Entry{std::string(value), expires});
  return StoreResult::ok;
}

StoreResult MemoryStore::touch(std::string_view key, std::chrono::seconds ttl) {
  const auto expires = expiry_for(ttl);
  return with_live_entry(key, [&](Map::iterator it) { it->second.expires = expires; });
}

StoreResult MemoryStore::remove(std::string_view key) {
  return with_live_entry(key, [&](Map::iterator it) { entries_.erase(it); });
}

StoreResult MemoryStore::try_lock(std::string_view lock_key, std::chrono::seconds expire,
                                  std::uint64_t token) {
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  const auto expires = expiry_for(expire);
  std::lock_guard lock(mutex_);
  const auto it = do_find_live(lock_key);
  if (it == entries_.end()) {  // add
    entries_.insert_or_assign(std::string(lock_key), Entry{lock_value(token), expires});
    return StoreResult::ok;
  }
  if (it->second.value != "0") return StoreResult::busy;
  it->second = Entry{lock_value(token), expires};  // PHP released it: the cas from 0
  return StoreResult::ok;
}

StoreResult MemoryStore::unlock(std::string_view lock_key, std::uint64_t token, bool verify) {
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  std::lock_guard lock(mutex_);
  const auto it = do_find_live(lock_key);
  if (it == entries_.end()) return verify ? StoreResult::not_found : StoreResult::ok;
  if (verify && !lock_value_owned_by(it->second.value, token)) return StoreResult::not_found;
  entries_.erase(it);
  return StoreResult::ok;
}

std::size_t MemoryStore::size() const {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [now](const auto& item) {
        return item.second.expires == std::chrono::steady_clock::time_point::max() ||
               item.second.expires > now;
      }));
}

}  // namespace cppfpm::session
