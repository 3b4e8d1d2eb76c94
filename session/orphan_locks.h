#pragma once
// Locks this process may have taken without knowing it: a lock `add` that
// got no answer (memcached frozen or slow past session.memcached_timeout)
// can still be executed when memcached resumes, leaving `<id>.lock` with
// our token and nobody to release it. Each such (key, token) is written
// down here and released, only if the key holds our token (a `gets`, then
// a `cas`), by the next requests of the process once memcached answers:
// drain() runs at most every 100 ms, from session_start and from lock
// waiters.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "session/store.h"

namespace cppfpm::session {

class OrphanLocks {
 public:
  // At most this many suspects are kept; older ones are dropped first
  // (their keys expire after session.lock_expire anyway).
  static constexpr std::size_t kMaxSuspects = 4096;

  static OrphanLocks& of_process();

  void suspect(SessionStore& store, std::string_view lock_key, std::uint64_t token);
  // Releases what can be released now; at most every `every`, one thread
  // at a time (others return at once). Entries are dropped once released,
  // once memcached has answered "not ours / not there" for a full second
  // (a late add arrives within milliseconds of memcached resuming), or
  // after `give_up` (the key has expired by then).
  void drain(SessionStore& store, std::chrono::milliseconds every = std::chrono::milliseconds(100),
             std::chrono::seconds give_up = std::chrono::seconds(120));
  std::size_t size() const;
  // How many were released since the process started (tests, logs).
  std::uint64_t released() const;

 private:
  OrphanLocks() = default;
};

}  // namespace cppfpm::session
