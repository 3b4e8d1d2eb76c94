#include "pool/children.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <spdlog/spdlog.h>

#include "pool/child_setup.h"
#include "pool/signals.h"

namespace cppfpm::pool {

PoolChildren::PoolChildren(const PoolConfig& config, int listen_fd, ChildMain main, int status_fd)
    : config_(config),
      listen_fd_(listen_fd),
      status_fd_(status_fd),
      main_(std::move(main)),
      board_(std::make_unique<Scoreboard>(config.pm_max_children, config.threads_per_child)),
      output_(config.name, {config.decorate_workers_output, config.log_limit}) {}

pid_t PoolChildren::spawn(Announce announce) {
  int slot = board_->claim(0, now_us());
  if (slot < 0) return -1;
  WorkerOutputEnds output;
  if (config_.catch_workers_output) output_.open(output);
  pid_t pid = ::fork();
  if (pid < 0) {
    if (output.stdout_fd >= 0) output_.discard(output);
    board_->release(slot);
    spdlog::error("[pool {}] fork() failed: {} ({})", config_.name, std::strerror(errno), errno);
    return -1;
  }
  if (pid == 0) {
    reset_signals_in_child();
    // A child never outlives its master.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) ::_exit(0);
    output_.close_inherited();
    int code = 1;
    if (!prepare_child_process(config_)) ::_exit(78);
    try {
      board_->child(slot).pid = ::getpid();
      code = main_(config_, listen_fd_, ChildIdentity{board_.get(), slot, output, status_fd_});
    } catch (const std::exception& e) {
      spdlog::critical("[pool {}] child {} failed: {}", config_.name, ::getpid(), e.what());
    }
    spdlog::default_logger()->flush();
    ::_exit(code);
  }
  if (output.stdout_fd >= 0) output_.adopt(pid, output);
  board_->child(slot).pid = pid;
  children_[pid] = Child{std::chrono::steady_clock::now(), slot};
  spdlog::log(announce == Announce::notice ? spdlog::level::info : spdlog::level::debug,
              "[pool {}] child {} started", config_.name, pid);
  return pid;
}

bool PoolChildren::on_exit(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) return false;
  double lived =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.started).count();
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    auto level = (sig == SIGTERM || sig == SIGQUIT) ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level,
                "[pool {}] child {} exited on signal {} (SIG{}) after {:.6f} seconds from start",
                config_.name, pid, sig, ::sigabbrev_np(sig) ? ::sigabbrev_np(sig) : "?", lived);
  } else {
    int code = WEXITSTATUS(status);
    auto level = code == 0 ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "[pool {}] child {} exited with code {} after {:.6f} seconds from start",
                config_.name, pid, code, lived);
  }
  board_->release(it->second.slot);
  children_.erase(it);
  return true;
}

void PoolChildren::retire(pid_t pid) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;
  board_->child(it->second.slot).state = static_cast<int>(ChildState::finishing);
  ::kill(pid, SIGQUIT);
}

pid_t PoolChildren::longest_idle(std::int64_t* idle_since_us) const {
  pid_t best = 0;
  std::int64_t best_since = 0;
  for (const auto& [pid, child] : children_) {
    const ChildSlot& slot = board_->child(child.slot);
    if (slot.state.load() != static_cast<int>(ChildState::idle)) continue;
    std::int64_t since = slot.idle_since_us.load();
    if (best == 0 || since < best_since) {
      best = pid;
      best_since = since;
    }
  }
  if (idle_since_us) *idle_since_us = best_since;
  return best;
}

void PoolChildren::signal_all(int signo) const {
  for (const auto& [pid, child] : children_) ::kill(pid, signo);
}

}  // namespace cppfpm::pool

namespace cppfpm::pool {

std::vector<pid_t> PoolChildren::pids() const {
  std::vector<pid_t> out;
  for (const auto& [pid, child] : children_) out.push_back(pid);
  return out;
}

}  // namespace cppfpm::pool
