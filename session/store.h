#pragma once
// The session storage seam: memcached in production, in-process for unit
// tests of handlers and `session.save_handler = memory`.
#include <chrono>
#include <string>
#include <string_view>

namespace cppfpm::session {

enum class StoreResult {
  ok,
  not_found,
  unavailable,  // the backend could not be reached or answered an error
  busy,         // try_lock: another request holds the lock
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Reads the raw stored bytes under `key` into `out`.
  virtual StoreResult read(std::string_view key, std::string& out) = 0;
  virtual StoreResult write(std::string_view key, std::string_view value,
                            std::chrono::seconds ttl) = 0;
  // Refreshes the lifetime of an existing key without rewriting it.
  virtual StoreResult touch(std::string_view key, std::chrono::seconds ttl) = 0;
  virtual StoreResult remove(std::string_view key) = 0;

  // pecl-memcache's session lock on `lock_key` (memcache_session.c
  // PS_READ_FUNC): `incr lock_key 1` answering 1, or `add lock_key` with
  // the integer 1, takes it; the key expires after `expire` if its holder
  // dies. ok: taken; busy: someone holds it. A store that cannot lock
  // answers ok.
  virtual StoreResult try_lock(std::string_view lock_key, std::chrono::seconds expire) {
    (void)lock_key;
    (void)expire;
    return StoreResult::ok;
  }
  // Releases it as PS_WRITE_FUNC does: `set lock_key` to the integer 0.
  virtual StoreResult unlock(std::string_view lock_key, std::chrono::seconds expire) {
    (void)lock_key;
    (void)expire;
    return StoreResult::ok;
  }
};

}  // namespace cppfpm::session
