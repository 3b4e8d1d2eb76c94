#pragma once
// The process-manager algorithms of one pool (php-fpm's pm = static,
// dynamic, ondemand), run by the master: how many children at boot, what
// to do when one exits, the once-a-second maintenance, and (ondemand) what
// to do when a connection waits and no child is idle.
#include <set>

#include "pool/children.h"

namespace cppfpm::pool {

// The once-a-second decision of pm = dynamic, apart from its effects so that
// it is tested without processes. `idle` and `total` count children.
struct DynamicStep {
  enum class Action {
    retire_longest_idle,  // more idle children than pm.max_spare_servers
    steady,               // enough idle children
    at_max_children,      // short of idle ones, but pm.max_children reached
    spawn,                // short of idle ones: spawn `spawn` children
  };
  Action action = Action::steady;
  int spawn = 0;
  int next_spawn_rate = 1;  // doubles while short, up to pm.max_spawn_rate
  bool busy = false;        // php-fpm's "seems busy" warning is due
};
DynamicStep dynamic_step(const PoolConfig& config, int idle, int total, int spawn_rate);

// How many children to spawn after one exited, `live` children left;
// `retired` when the pm itself ended it (idle).
int replacements_after_exit(const PoolConfig& config, int live, bool retired);

// ondemand: a connection waits in the backlog.
enum class WaitingStep { none, at_max_children, spawn_one };
WaitingStep waiting_connection_step(const PoolConfig& config, int idle, int total);

class ProcessManager {
 public:
  explicit ProcessManager(PoolChildren& children) : children_(children) {}

  void start();
  // A child was reaped; `pid` was retired by us when we asked it to go.
  void on_child_exit(pid_t pid);
  void tick();
  // ondemand: the listening socket has a connection waiting.
  void on_connection_waiting();
  bool wants_listen_events() const { return config().pm == PmMode::ondemand; }

 private:
  const PoolConfig& config() const { return children_.config(); }
  void spawn(int n, PoolChildren::Announce announce = PoolChildren::Announce::debug);
  void reached_max_children();
  void dynamic_tick();
  void ondemand_tick();

  PoolChildren& children_;
  std::set<pid_t> retired_;
  int spawn_rate_ = 1;
  bool warned_max_children_ = false;
};

}  // namespace cppfpm::pool
