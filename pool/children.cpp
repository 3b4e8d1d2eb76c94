#include "pool/children.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include <spdlog/spdlog.h>

#include "pool/child_setup.h"
#include "pool/signals.h"

namespace cppfpm::pool {

PoolChildren::PoolChildren(const PoolConfig& config, int listen_fd, ChildMain main, int status_fd,
                           int handoff_receive, int handoff_send)
    : config_(config),
      listen_fd_(listen_fd),
      status_fd_(status_fd),
      handoff_receive_(handoff_receive),
      handoff_send_(handoff_send),
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
      code = main_(
          config_, listen_fd_,
          ChildIdentity{board_.get(), slot, output, status_fd_, handoff_receive_, handoff_send_});
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
  release_session_locks(pid, it->second.slot);
  board_->release(it->second.slot);
  children_.erase(it);
  return true;
}

// A child that dies (kill -9, a crash, request_terminate_timeout) leaves
// the session locks its requests held: without this their sessions wait
// session.lock_expire (15 s) for the keys to expire. Each is deleted only
// if it still holds the child's token, with short memcached timeouts, so
// the master is held up for a bounded time even when memcached is not
// answering (then the keys expire as before).
void PoolChildren::release_session_locks(pid_t pid, int slot) {
  std::vector<HeldLock> held = board_->held_locks(slot);
  if (held.empty() || config_.session_save_handler != "memcached") return;
  try {
    if (!lock_store_) {
      const auto timeout =
          std::min(config_.session.memcached_timeout, std::chrono::milliseconds(300));
      lock_store_ = std::make_unique<session::MemcachedStore>(
          config_.session_save_path,
          session::MemcachedOptions{.timeouts = {.call = timeout},
                                    .replicas = config_.session.replicas});
    }
  } catch (const std::exception& e) {
    spdlog::warn("[pool {}] cannot release the session locks of child {}: {}", config_.name, pid,
                 e.what());
    return;
  }
  const auto budget_end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  int released = 0, not_its = 0, failed = 0;
  for (const HeldLock& lock : held) {
    if (std::chrono::steady_clock::now() >= budget_end) {
      ++failed;
      continue;
    }
    switch (lock_store_->unlock(lock.key, lock.token, true)) {
      case session::StoreResult::ok:
        ++released;
        break;
      case session::StoreResult::not_found:
        ++not_its;
        break;
      default:
        ++failed;
    }
  }
  if (released > 0 || failed > 0)
    spdlog::log(failed > 0 ? spdlog::level::warn : spdlog::level::info,
                "[pool {}] child {} left {} session lock(s): released {}{}{}", config_.name, pid,
                held.size(), released,
                not_its > 0 ? ", " + std::to_string(not_its) + " no longer its" : std::string(),
                failed > 0 ? ", " + std::to_string(failed) +
                                 " not released (memcached not answering; they expire after "
                                 "session.lock_expire)"
                           : std::string());
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
