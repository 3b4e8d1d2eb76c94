#pragma once
// The master process: serves no request, keeps each pool's children as its
// pm says, and carries out the operator's signals (php-fpm's
// fpm_process_ctl). Signal handlers only set flags; the master sleeps in
// ppoll() with those signals unblocked, also woken by the listening sockets
// of ondemand pools and by the children's catch_workers_output pipes, and
// acts on the flags.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pool/children.h"
#include "pool/config.h"
#include "pool/pm.h"

namespace cppfpm::pool {

struct PoolRuntime {
  const PoolConfig* config;
  int listen_fd;
  int status_fd = -1;  // pm.status_listen's socket, -1 without
  // The reload handoff socket pair (ChildIdentity), -1 without.
  int handoff_receive = -1;
  int handoff_send = -1;
};

class Master {
 public:
  // The stop machine (php-fpm's PCTL states).
  enum class State { normal, finishing, terminating };

  Master(const Config& config, std::vector<PoolRuntime> pools, ChildMain child_main);
  ~Master();

  // Runs on SIGUSR1 in the master before the children are restarted.
  void on_reopen_logs(std::function<void()> reopen) { reopen_logs_ = std::move(reopen); }
  // SIGUSR2: checks the new config; true = go ahead and re-execute (the
  // master then returns from run() with `reload_requested()`), false =
  // keep running the old one (the callback logged why).
  void on_reload(std::function<bool()> check) { check_reload_ = std::move(check); }
  // Children of a previous generation (before a reload), still finishing.
  void adopt_old_children(std::set<pid_t> pids) { old_children_ = std::move(pids); }

  // Spawns the children and runs until a stop completes or a reload is due.
  int run();
  bool reload_requested() const { return reload_; }
  // Pids of all live children, for the next generation after a reload.
  std::set<pid_t> live_children() const;

 private:
  void reap();
  void begin_stop(State state);
  void stop_listening();
  void escalate();
  void wait_for_events(const sigset_t& mask);
  std::size_t total_children() const;
  void report_to_systemd();
  void log_systemd_interval() const;
  void count_abnormal_exit(int status);

  const Config& config_;
  std::vector<std::unique_ptr<PoolChildren>> pools_;
  std::vector<std::unique_ptr<ProcessManager>> pms_;
  std::vector<std::int64_t> listen_cooldown_until_us_;
  std::set<pid_t> old_children_;
  State state_ = State::normal;
  int stop_signal_ = 0;
  int ticks_in_state_ = 0;
  bool reload_ = false;
  int ticks_since_report_ = 0;
  std::uint64_t last_accepted_ = 0;
  std::vector<std::int64_t> abnormal_exits_us_;  // for emergency_restart_threshold
  std::function<void()> reopen_logs_;
  std::function<bool()> check_reload_;
};

}  // namespace cppfpm::pool
