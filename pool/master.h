#pragma once
// The master process: serves no request, keeps each pool's children alive,
// and carries out the operator's signals (php-fpm's fpm_process_ctl).
#include <functional>
#include <memory>
#include <vector>

#include "pool/children.h"
#include "pool/config.h"

namespace cppfpm::pool {

struct PoolRuntime {
  const PoolConfig* config;
  int listen_fd;
};

class Master {
 public:
  // State of the master's stop machine (php-fpm's PCTL states).
  enum class State { normal, finishing, terminating };

  Master(const Config& config, std::vector<PoolRuntime> pools, ChildMain child_main);
  // Runs on SIGUSR1 in the master before the children are told.
  void on_reopen_logs(std::function<void()> reopen) { reopen_logs_ = std::move(reopen); }
  // Spawns the children and runs until a stop completes. Returns the exit code.
  int run();

 private:
  void spawn_initial();
  void reap();
  void maintain();
  void begin_stop(State state);
  void escalate();
  std::size_t total_children() const;
  static int target_children(const PoolConfig& pool);

  const Config& config_;
  std::vector<std::unique_ptr<PoolChildren>> pools_;
  State state_ = State::normal;
  int stop_signal_ = 0;
  int ticks_in_state_ = 0;
  std::function<void()> reopen_logs_;
};

}  // namespace cppfpm::pool
