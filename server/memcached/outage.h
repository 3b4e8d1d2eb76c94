#pragma once
// "memcached is down" said once per outage, not once per request. The
// state lives in a MAP_SHARED page mapped when the program starts, before
// the master forks, so all children of a pool share it: the first to see
// the failure logs it, the first to see memcached answer again logs that.
#include <chrono>
#include <cstdint>

namespace cppfpm::memcached {

class OutageLog {
 public:
  // Failures within `grace` of a recovery are the tail of the outage just
  // ended (other children's handles still skip the server for
  // MEMCACHED_BEHAVIOR_RETRY_TIMEOUT) and are not a new outage.
  // `slot` picks one of kSlots shared states. Every user needs its own,
  // the same in every child, so they are numbered here; session servers
  // past the last slot share the server slots round-robin.
  static constexpr int kSlots = 32;
  static constexpr int kSessionStoreSlot = 0;        // the session store as a whole
  static constexpr int kQueryCacheSlot = 1;          // the query cache's servers
  static constexpr int kFirstSessionServerSlot = 2;  // then one per session server
  OutageLog(std::chrono::milliseconds grace, int slot);

  // True when this failure starts an outage: the caller logs it.
  bool failed();
  // True when this success ends an outage: the caller logs it.
  bool succeeded();

  // For tests: forget any outage in progress.
  static void reset_shared_state();

 private:
  std::chrono::milliseconds grace_;
  int slot_;
};

}  // namespace cppfpm::memcached
