#include "pool/children.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <spdlog/spdlog.h>

#include "pool/signals.h"

namespace cppfpm::pool {

PoolChildren::PoolChildren(const PoolConfig& config, int listen_fd, ChildMain main)
    : config_(config), listen_fd_(listen_fd), main_(std::move(main)) {}

pid_t PoolChildren::spawn() {
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("[pool {}] fork() failed: {} ({})", config_.name, std::strerror(errno), errno);
    return -1;
  }
  if (pid == 0) {
    reset_signals_in_child();
    // A child never outlives its master.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) ::_exit(0);
    int code = 1;
    try {
      code = main_(config_, listen_fd_);
    } catch (const std::exception& e) {
      spdlog::critical("[pool {}] child {} failed: {}", config_.name, ::getpid(), e.what());
    }
    spdlog::default_logger()->flush();
    ::_exit(code);
  }
  children_[pid] = Child{std::chrono::steady_clock::now()};
  spdlog::debug("[pool {}] child {} started", config_.name, pid);
  return pid;
}

bool PoolChildren::on_exit(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) return false;
  double lived = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.started).count();
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    auto level = (sig == SIGTERM || sig == SIGQUIT) ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "[pool {}] child {} exited on signal {} (SIG{}) after {:.6f} seconds from start",
                config_.name, pid, sig, ::sigabbrev_np(sig) ? ::sigabbrev_np(sig) : "?", lived);
  } else {
    int code = WEXITSTATUS(status);
    auto level = code == 0 ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "[pool {}] child {} exited with code {} after {:.6f} seconds from start",
                config_.name, pid, code, lived);
  }
  children_.erase(it);
  return true;
}

void PoolChildren::signal_all(int signo) const {
  for (const auto& [pid, child] : children_) ::kill(pid, signo);
}

}  // namespace cppfpm::pool
