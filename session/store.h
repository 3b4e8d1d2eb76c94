#pragma once
// The session storage seam: memcached in production, in-process for unit
// tests of handlers and `session.save_handler = memory`.
#include <chrono>
#include <cstdint>
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

  // The session lock on `lock_key`, interlocking with pecl-memcache's
  // (memcache_session.c PS_READ_FUNC: `incr` answering 1 or `add` of the
  // integer 1 takes it; PS_WRITE_FUNC sets it to 0). The value is the
  // decimal `token` (session/lock_token.h) with PHP's integer flags, so PHP's
  // `incr` on it succeeds (no CLIENT_ERROR notice in PHP's log) without
  // ever answering 1, and the owner stays recognisable under PHP's
  // increments. `add` takes it; a lock PHP released (value 0) is taken by
  // a `cas` from 0 to the token. The key expires after `expire` if its
  // holder dies. ok: taken; busy: someone holds it; unavailable: no answer
  // (the add may still reach the server later: see unlock). A store that
  // cannot lock answers ok.
  virtual StoreResult try_lock(std::string_view lock_key, std::chrono::seconds expire,
                               std::uint64_t token) {
    (void)lock_key;
    (void)expire;
    (void)token;
    return StoreResult::ok;
  }
  // Releases the lock `token` took. verify = false: one `delete` without
  // waiting for the answer (the caller knows the lock is still its own).
  // verify = true: only if the key still holds `token`'s value (`gets`,
  // then a `cas` that expires it), for a lock whose add timed out, one held
  // past its expiry, or one a dead child held. ok: released (or, without
  // verify, the delete sent); not_found: no lock of `token` there;
  // unavailable: no answer.
  virtual StoreResult unlock(std::string_view lock_key, std::uint64_t token, bool verify) {
    (void)lock_key;
    (void)token;
    (void)verify;
    return StoreResult::ok;
  }
};

}  // namespace cppfpm::session
