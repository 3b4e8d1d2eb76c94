#include "pool/master.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <spdlog/spdlog.h>

#include "pool/signals.h"

namespace cppfpm::pool {

Master::Master(const Config& config, std::vector<PoolRuntime> pools, ChildMain child_main)
    : config_(config) {
  for (const auto& p : pools) pools_.push_back(std::make_unique<PoolChildren>(*p.config, p.listen_fd, child_main));
}

int Master::target_children(const PoolConfig& pool) {
  switch (pool.pm) {
    case PmMode::static_: return pool.pm_max_children;
    case PmMode::dynamic: return pool.pm_start_servers;
    case PmMode::ondemand: return 1;
  }
  return pool.pm_max_children;
}

std::size_t Master::total_children() const {
  std::size_t n = 0;
  for (const auto& p : pools_) n += p->count();
  return n;
}

void Master::spawn_initial() {
  for (auto& p : pools_)
    for (int i = 0; i < target_children(p->config()); ++i) p->spawn();
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& p : pools_)
      if (p->on_exit(pid, status)) break;
  }
}

// Keeps each pool at its size while running; a dead child is replaced here,
// within the same turn of the loop that reaped it.
void Master::maintain() {
  if (state_ != State::normal) return;
  for (auto& p : pools_) {
    int want = target_children(p->config());
    while (static_cast<int>(p->count()) < want) {
      if (p->spawn() < 0) break;
    }
  }
}

void Master::begin_stop(State state) {
  if (state_ == State::terminating || state_ == state) return;
  state_ = state;
  ticks_in_state_ = 0;
  stop_signal_ = state == State::finishing ? SIGQUIT : SIGTERM;
  spdlog::info(state == State::finishing ? "Finishing ..." : "Terminating ...");
  for (auto& p : pools_) p->signal_all(stop_signal_);
}

// QUIT -> TERM -> KILL, paced by process_control_timeout (fast stop: 1 s).
void Master::escalate() {
  if (state_ == State::normal) return;
  ++ticks_in_state_;
  long limit = config_.global.process_control_timeout.count();
  if (stop_signal_ == SIGQUIT) {
    if (limit > 0 && ticks_in_state_ >= limit) {
      spdlog::warn("children still running after process_control_timeout ({}s), sending SIGTERM", limit);
      stop_signal_ = SIGTERM;
      ticks_in_state_ = 0;
      for (auto& p : pools_) p->signal_all(SIGTERM);
    }
  } else if (stop_signal_ == SIGTERM && ticks_in_state_ >= (limit > 0 ? limit : 1)) {
    spdlog::warn("children still running after SIGTERM, sending SIGKILL");
    stop_signal_ = SIGKILL;
    for (auto& p : pools_) p->signal_all(SIGKILL);
  }
}

int Master::run() {
  sigset_t wait_mask = install_master_signals();
  start_tick_timer();
  spdlog::info("fpm is running, pid {}", ::getpid());
  spawn_initial();
  spdlog::info("ready to handle connections");
  auto& flags = signal_flags();
  while (true) {
    if (flags.child) {
      flags.child = 0;
      reap();
      maintain();
    }
    if (flags.terminate) {
      flags.terminate = 0;
      begin_stop(State::terminating);
    }
    if (flags.quit) {
      flags.quit = 0;
      begin_stop(State::finishing);
    }
    if (flags.reopen) {
      flags.reopen = 0;
      spdlog::info("re-opening error logs");
      if (reopen_logs_) reopen_logs_();
      for (auto& p : pools_) p->signal_all(SIGUSR1);
    }
    if (flags.reload) {
      flags.reload = 0;
      spdlog::warn("SIGUSR2 reload is not implemented yet; ignoring");
    }
    if (flags.tick) {
      flags.tick = 0;
      reap();
      maintain();
      escalate();
    }
    if (state_ != State::normal && total_children() == 0) break;
    sigsuspend(&wait_mask);
  }
  spdlog::info("exiting, bye-bye!");
  return 0;
}

}  // namespace cppfpm::pool
