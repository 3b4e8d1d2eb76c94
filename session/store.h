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
  // Releases it by deleting the key. (PS_WRITE_FUNC instead sets it to the
  // integer 0 for lock_timeout; either way the next `incr` or `add` takes
  // it, so PHP and cppfpm lock each other out, and here memcached holds
  // `<id>.lock` only while a request holds the session.)
  virtual StoreResult unlock(std::string_view lock_key, std::chrono::seconds expire) {
    (void)lock_key;
    (void)expire;
    return StoreResult::ok;
  }
};

}  // namespace cppfpm::session
