#pragma once
// Spawning and reaping one pool's children (php-fpm's fpm_children).
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "pool/config.h"
#include "pool/scoreboard.h"
#include "pool/worker_output.h"
#include "session/memcached_store.h"

namespace cppfpm::pool {

// What a child knows about itself: its pool's scoreboard and its slot.
struct ChildIdentity {
  Scoreboard* board = nullptr;
  int slot = -1;
  // catch_workers_output: pipes to the master, to become fds 1 and 2 once
  // the child's own log no longer writes to fd 2.
  WorkerOutputEnds output;
  // pm.status_listen's socket, -1 without.
  int status_fd = -1;
  // The pool's reload handoff socket pair (server/fastcgi/handoff.h), -1
  // without: kept connections taken from `handoff_receive`, handed over
  // on `handoff_send` when stopping for a reload.
  int handoff_receive = -1;
  int handoff_send = -1;
};

// Runs inside a forked child; its return value is the child's exit code.
using ChildMain = std::function<int(const PoolConfig&, int listen_fd, const ChildIdentity&)>;

class PoolChildren {
 public:
  PoolChildren(const PoolConfig& config, int listen_fd, ChildMain main, int status_fd = -1,
               int handoff_receive = -1, int handoff_send = -1);

  // How "child N started" is logged: php-fpm announces at NOTICE only a
  // child that replaces one that exited (fpm_children_bury); the first
  // children and the pm's own spawns are DEBUG.
  enum class Announce { debug, notice };
  // Forks a child; returns its pid, or -1 (logged) when fork() failed or
  // the scoreboard is full (pm.max_children).
  pid_t spawn(Announce announce = Announce::debug);
  // Forgets a reaped child and logs how it ended; false if not ours.
  bool on_exit(pid_t pid, int status);
  void signal_all(int signo) const;
  // Asks one child to finish its requests and exit (SIGQUIT).
  void retire(pid_t pid);

  std::size_t count() const { return children_.size(); }
  std::vector<pid_t> pids() const;
  const PoolConfig& config() const { return config_; }
  int listen_fd() const { return listen_fd_; }
  int handoff_receive() const { return handoff_receive_; }
  Scoreboard& board() { return *board_; }
  WorkerOutput& output() { return output_; }
  // The idle child that has been idle the longest, or 0.
  pid_t longest_idle(std::int64_t* idle_since_us = nullptr) const;

 private:
  struct Child {
    std::chrono::steady_clock::time_point started;
    int slot;
  };
  const PoolConfig& config_;
  int listen_fd_;
  int status_fd_;
  int handoff_receive_;
  int handoff_send_;
  ChildMain main_;
  std::unique_ptr<Scoreboard> board_;
  std::map<pid_t, Child> children_;
  WorkerOutput output_;
  // Talks to memcached for the master when a dead child left session locks.
  std::unique_ptr<session::MemcachedStore> lock_store_;

  void release_session_locks(pid_t pid, int slot);
};

}  // namespace cppfpm::pool
