#pragma once
// Spawning and reaping one pool's children (php-fpm's fpm_children).
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>

#include "pool/config.h"

namespace cppfpm::pool {

// Runs inside a forked child; its return value is the child's exit code.
using ChildMain = std::function<int(const PoolConfig&, int listen_fd)>;

class PoolChildren {
 public:
  PoolChildren(const PoolConfig& config, int listen_fd, ChildMain main);

  // Forks a child; returns its pid, or -1 (logged) when fork() failed.
  pid_t spawn();
  // Forgets a reaped child and logs how it ended; false if not ours.
  bool on_exit(pid_t pid, int status);
  void signal_all(int signo) const;

  std::size_t count() const { return children_.size(); }
  const PoolConfig& config() const { return config_; }

 private:
  struct Child {
    std::chrono::steady_clock::time_point started;
  };
  const PoolConfig& config_;
  int listen_fd_;
  ChildMain main_;
  std::map<pid_t, Child> children_;
};

}  // namespace cppfpm::pool
