#pragma once
// Session settings with PHP's names, meanings and defaults (php.ini [Session]),
// plus the memcached session handler's own (pecl-memcache's memcache.* and
// php-memcached's memcached.sess_* as cppfpm's session.* keys).
#include <chrono>
#include <cstdint>
#include <string>

namespace cppfpm::session {

struct Settings {
  std::string name = "PHPSESSID";
  std::chrono::seconds gc_maxlifetime{1440};
  int sid_length = 26;             // PHP allows 22..256
  int sid_bits_per_character = 5;  // 4, 5 or 6
  bool use_strict_mode = false;
  bool use_cookies = true;           // read the id from, and send it in, a cookie
  bool use_only_cookies = true;      // 0: the id may also come from ?NAME=<id>
  std::int64_t cookie_lifetime = 0;  // seconds; 0 = until the browser closes
  std::string cookie_path = "/";
  std::string cookie_domain;
  bool cookie_secure = false;
  bool cookie_httponly = false;
  std::string cookie_samesite;
  bool lazy_write = true;
  std::string cache_limiter = "nocache";
  std::chrono::minutes cache_expire{180};  // max-age/Expires of the public and private limiters
  std::string serialize_handler = "php";   // "php" or "php_serialize"

  // Stored under key_prefix + id: "" is pecl-memcache's bare id (the
  // seed's), "memc.sess.key." php-memcached's.
  std::string key_prefix;
  // pecl-memcache's locking: `<key>.lock` added (flags 768, value 1) while
  // a request holds the session (session.lock), deleted after, expiring after lock_expire if the
  // holder dies (memcache.lock_timeout, 15 s); a waiter backs off from 5 ms to 50 ms for at most
  // lock_wait (pecl: 2 * lock_timeout) or lock_retries attempts (0: no count limit), then the page
  // answers 503.
  bool lock = true;
  // Whose lock key to share: "memcache" (pecl-memcache: <key_prefix><id>.lock)
  // or "memcached" (php-memcached: <key_prefix>lock.<id>).
  std::string lock_key_style = "memcache";
  std::chrono::seconds lock_expire{15};
  std::chrono::milliseconds lock_wait{30000};
  int lock_retries = 0;
  // How many requests of one child may wait for session locks for up to
  // lock_wait at once; the others wait only while the lock they want
  // changes hands, and get 503 with Retry-After once it has not for 1 s
  // (a stuck session must not take every worker thread; a hot one, whose
  // holders take milliseconds, is still served). 0: half of
  // pm.threads_per_child, at least 1 (resolved by the child); -1: no
  // bound. Requests for one session in one child wait in arrival order and
  // only the first polls memcached (session/lock_line.h).
  int lock_waiters = 0;
  // Bound on each memcached call (connect, send, receive).
  std::chrono::milliseconds memcached_timeout{1000};
  // Extra copies of each session on the next servers of save_path.
  int replicas = 0;
  // pecl-memcache's memcache.compress_threshold: values of this many bytes
  // or more are stored zlib-compressed (flag 2) as PHP stores them; 0 never.
  // php-memcached (lock_key_style = memcached) reads session values raw, so
  // nothing is compressed for it. Compressed values are always readable.
  int compress_threshold = 20000;
};

}  // namespace cppfpm::session
