#pragma once
// "memcached is down" said once per outage, not once per request. The
// state lives in a MAP_SHARED page mapped when the program starts, before
// the master forks, so all children of a pool share it: the first to see
// the server fail logs it, the first to have a round trip with it again
// logs that.
//
// Only real probes move the state: a call that went to the server and
// failed (not one libmemcached refused from memory while it skips the
// server for its retry timeout), and a call that got the server's answer
// (not a "noreply" command, which succeeds once it is in the socket's
// buffer, and not another server's answer). A probe is dated by when its
// call began, so a call still in flight when the state changed, which can
// end on either side of the change, is not read as a new change.
#include <chrono>
#include <cstdint>

namespace cppfpm::memcached {

class OutageLog {
 public:
  using Clock = std::chrono::steady_clock;

  // `slot` picks one of kSlots shared states. Every user needs its own,
  // the same in every child, so they are numbered here; servers past the
  // last slot of their range share its slots round-robin.
  static constexpr int kSlots = 64;
  static constexpr int kSessionStoreSlot = 0;  // the session store's own failures
  static constexpr int kQueryCacheSlot = 1;    // the query cache's own failures
  static constexpr int kServerSlots = (kSlots - 2) / 2;
  static int session_server_slot(int index);      // session server `index` of save_path
  static int query_cache_server_slot(int index);  // cache server `index` of cache.servers

  // A failure within `grace` of a recovery is not a new outage: a last
  // guard against a server that flaps while it comes back.
  OutageLog(std::chrono::milliseconds grace, int slot);

  // A call begun at `started` went to the server and got no answer. True
  // when this starts an outage: the caller logs it. A call begun before
  // the server was last seen back fails as part of the outage that ended.
  bool failed(Clock::time_point started = Clock::now());
  // A call begun at `started` had a round trip with the server. True when
  // this ends an outage: the caller logs it. Only a call begun after the
  // outage was seen counts.
  bool succeeded(Clock::time_point started = Clock::now());
  // Whether an outage of this slot is in progress.
  bool down() const;
  // Whether the server was last seen back (a round trip that ended an
  // outage) after `t`, and is not down again.
  bool back_since(Clock::time_point t) const;
  // Whether the caller, whose handle failed, dials the server now although
  // libmemcached would skip it for the rest of the handle's retry timeout:
  // true for one caller per `interval` across every thread and child (a
  // failure is a probe too, see failed()). The handle that failed is the
  // one a lightly loaded child asks again and again; without this it
  // would answer from memory until its own window ends.
  bool probe_due(std::chrono::milliseconds interval, Clock::time_point now = Clock::now());

  // For tests: forget any outage in progress.
  static void reset_shared_state();

 private:
  std::chrono::milliseconds grace_;
  int slot_;
};

}  // namespace cppfpm::memcached
