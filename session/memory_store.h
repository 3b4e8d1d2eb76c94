#pragma once
// An in-process SessionStore: a mutex-guarded map with expiry. For unit
// tests and `session.save_handler = memory` (one process only: children
// of a pool do not share it).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "session/store.h"

namespace cppfpm::session {

class MemoryStore : public SessionStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` is injectable so tests can move time forward.
  explicit MemoryStore(Clock clock = &std::chrono::steady_clock::now);

  // Keys are checked with is_valid_store_key(): a bad key reads as
  // not_found and is refused for writing with unavailable. A ttl of 0
  // never expires, a negative one is already expired (memcached's rules).
  // The lock as MemcachedStore keeps it: add of the token, a released
  // PHP lock (0) taken over, unlock only of our token when verifying.
  StoreResult try_lock(std::string_view lock_key, std::chrono::seconds expire,
                       std::uint64_t token) override;
  StoreResult unlock(std::string_view lock_key, std::uint64_t token, bool verify) override;
  StoreResult read(std::string_view key, std::string& out) override;
  StoreResult write(std::string_view key, std::string_view value,
                    std::chrono::seconds ttl) override;
  StoreResult touch(std::string_view key, std::chrono::seconds ttl) override;
  StoreResult remove(std::string_view key) override;

  // Live entries (expired ones are not counted).
  std::size_t size() const;

 private:
  struct Entry {
    std::string value;
    std::chrono::steady_clock::time_point expires;  // max(): never
  };
  using Map = std::unordered_map<std::string, Entry>;

  Clock clock_;
  mutable std::mutex mutex_;
  Map entries_;
  std::size_t writes_since_sweep_ = 0;

  std::chrono::steady_clock::time_point expiry_for(std::chrono::seconds ttl) const;
  // The `do_` functions expect mutex_ to be held.
  Map::iterator do_find_live(std::string_view key);
  void do_sweep_expired();
  // Takes the lock and runs `use` on the live entry under `key`; not_found
  // when there is none (or the key is not a valid store key).
  template <typename Use>
  StoreResult with_live_entry(std::string_view key, Use use);
};

}  // namespace cppfpm::session
