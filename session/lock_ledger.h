#pragma once
// Where a process writes down the session locks it holds, so that someone
// else can release them if it dies: in a child, the pool's scoreboard
// (server/child wires it), which the master reads when it reaps a child
// that was killed. Without a ledger nothing is written down.
#include <cstdint>
#include <string_view>

namespace cppfpm::session {

class LockLedger {
 public:
  virtual ~LockLedger() = default;
  // Before the lock is asked for: returns an entry to pass to released(),
  // or -1 when nothing could be written down.
  virtual int taken(std::string_view lock_key, std::uint64_t token) = 0;
  // The lock asked for in `entry` is now held.
  virtual void acquired(int entry) = 0;
  virtual void released(int entry) = 0;

  // How the pool's other processes stand to `lock_key`: how many of their
  // requests ask for it, and whether one holds it. A child that has kept a
  // hot session's lock for a while lets them have it (Session), so one
  // child's line cannot starve another's.
  struct Contention {
    int waiting = 0;
    bool held = false;
  };
  virtual Contention contention(std::string_view lock_key) = 0;
};

// The process's ledger (nullptr: none); set before worker threads start.
void set_lock_ledger(LockLedger* ledger);
LockLedger* lock_ledger();

}  // namespace cppfpm::session
