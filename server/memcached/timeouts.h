#pragma once
// How long cppfpm waits for memcached, and for how long it leaves a failed
// server alone: the defaults of the session store and the query cache, in
// one place.
#include <chrono>

namespace cppfpm::memcached {

// A failed server is skipped this long (MEMCACHED_BEHAVIOR_RETRY_TIMEOUT)
// instead of being dialled again on every request.
inline constexpr std::chrono::seconds kDefaultRetryTimeout{2};
// Session pages wait for their session (session.memcached_timeout's default).
inline constexpr std::chrono::milliseconds kDefaultSessionTimeout{1000};
// The query cache waits less: on a timeout the query goes to MariaDB anyway.
inline constexpr std::chrono::milliseconds kDefaultQueryCacheTimeout{500};

struct Timeouts {
  // Bound on each connect, send and receive.
  std::chrono::milliseconds call = kDefaultSessionTimeout;
  std::chrono::seconds retry = kDefaultRetryTimeout;
  // While it is skipped, one thread of the pool dials it this often all
  // the same (OutageLog::probe_due), so a server that is back is found
  // back within this, not within `retry` of each handle's own failure.
  std::chrono::milliseconds probe{250};

  // After memcached comes back, other threads and children still skip it
  // for up to `retry`, and calls already waiting may still fail for up to
  // two `call` bounds. OutageLog ignores the first (no probe) and the
  // second (begun before the recovery) by themselves; a failure within
  // this window still starts no new outage, as a guard against flapping.
  std::chrono::milliseconds outage_grace() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(retry) + call * 2;
  }
};

}  // namespace cppfpm::memcached
