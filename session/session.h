#pragma once
// One request's session, as PHP's session_start() ... session_write_close()
// (php-src ext/session/session.c), on any SessionStore, with the
// serialize handler and locking of the settings.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "session/lock_line.h"
#include "session/php_serialize.h"
#include "session/php_value.h"
#include "session/settings.h"
#include "session/store.h"

namespace cppfpm::session {

class Session {
 public:
  // Both must outlive the Session.
  Session(SessionStore& store, const Settings& settings);
  // Releases the lock if commit() did not.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // session_start(): takes the id from the cookie called settings.name
  // (with use_cookies), or with use_only_cookies off from `query_string`
  // (?NAME=<id>); an invalid id is replaced by a fresh one (and logged,
  // rate-limited), and with use_strict_mode so is an id the store does not
  // hold. With settings.lock takes `<key>.lock` as pecl-memcache does,
  // waiting up to lock_wait. Reads and decodes the stored value.
  // unavailable when the store cannot be reached, busy when the lock
  // stayed held; the session is then not started.
  StoreResult start(std::string_view cookie_header, std::string_view query_string = {});

  const std::string& id() const { return id_; }
  // Where the session lives in the store: settings.key_prefix + id.
  std::string store_key() const { return settings_.key_prefix + id_; }
  // The lock's key, as the extension of settings.lock_key_style names it.
  std::string lock_key() const {
    return settings_.lock_key_style == "memcached" ? settings_.key_prefix + "lock." + id_
                                                   : store_key() + ".lock";
  }
  bool locked() const { return locked_; }
  bool started() const { return started_; }
  // PHP sends Set-Cookie only when the id did not come from the cookie
  // (and never with use_cookies off).
  bool cookie_needed() const { return cookie_needed_; }
  PhpArray& vars() { return vars_; }  // $_SESSION
  const PhpArray& vars() const { return vars_; }

  // The headers session_start() emits, in PHP's order: Set-Cookie when
  // needed, then those of settings.cache_limiter (nocache, private,
  // private_no_expire, public; "" or none: nothing). PHP's Last-Modified
  // for public/private is left out: there is no script file to date.
  std::vector<std::pair<std::string, std::string>> headers(std::int64_t now_unix) const;

  // session_write_close(): writes the encoded $_SESSION with TTL
  // gc_maxlifetime; with lazy_write and nothing changed since start() it
  // only refreshes the TTL. An empty $_SESSION is written as "". A value
  // that could not be decoded is left in the store unless the request
  // stored something new. Then releases the lock. unavailable if called
  // before a successful start().
  StoreResult commit();

 private:
  SessionStore& store_;
  const Settings& settings_;
  std::string id_;
  bool started_ = false;
  bool cookie_needed_ = false;
  bool undecodable_ = false;      // the stored value did not decode
  bool locked_ = false;           // we hold lock_key()
  std::uint64_t lock_token_ = 0;  // the lock's owner value (lock_token.h)
  int ledger_entry_ = -1;         // where the scoreboard records it
  std::chrono::steady_clock::time_point locked_at_;
  std::unique_ptr<LockLine> line_;     // our place in this child's line for the lock
  std::optional<std::string> stored_;  // what start() read, for lazy_write
  PhpArray vars_;

  void use_fresh_id();
  void decode_stored(const std::string& data);
  Format format() const;
  std::optional<std::string> id_from_request(std::string_view cookie_header,
                                             std::string_view query_string) const;
  StoreResult acquire_lock();
  StoreResult poll_lock(const std::string& lock_key, LockWait& wait, LockLine& line);
  StoreResult save();
  void release_lock();
  void forget_lock();
  StoreResult gave_up(int attempts) const;
  StoreResult too_many_waiters() const;
};

}  // namespace cppfpm::session
