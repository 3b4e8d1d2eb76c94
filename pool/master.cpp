#include "pool/master.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <spdlog/spdlog.h>

#include "pool/signals.h"
#include "pool/systemd.h"

namespace cppfpm::pool {
namespace {

// After an ondemand wake-up, the listening socket is left alone this long so
// a connection that a child is about to accept does not spin the master.
constexpr std::int64_t kListenCooldownUs = 100000;

}  // namespace

Master::Master(const Config& config, std::vector<PoolRuntime> pools, ChildMain child_main)
    : config_(config) {
  for (const auto& p : pools) {
    pools_.push_back(std::make_unique<PoolChildren>(*p.config, p.listen_fd, child_main, p.status_fd,
                                                    p.handoff_receive, p.handoff_send));
    pms_.push_back(std::make_unique<ProcessManager>(*pools_.back()));
    listen_cooldown_until_us_.push_back(0);
  }
}

Master::~Master() = default;

std::size_t Master::total_children() const {
  std::size_t n = old_children_.size();
  for (const auto& p : pools_) n += p->count();
  return n;
}

std::set<pid_t> Master::live_children() const {
  std::set<pid_t> pids = old_children_;
  for (const auto& p : pools_)
    for (pid_t pid : p->pids()) pids.insert(pid);
  return pids;
}

void Master::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (old_children_.erase(pid)) continue;
    for (std::size_t i = 0; i < pools_.size(); ++i) {
      if (!pools_[i]->on_exit(pid, status)) continue;
      count_abnormal_exit(status);
      if (state_ == State::normal) pms_[i]->on_child_exit(pid);
      break;
    }
  }
}

// emergency_restart_threshold children dying of SIGSEGV/SIGBUS within
// emergency_restart_interval make the master reload itself, as php-fpm does.
void Master::count_abnormal_exit(int status) {
  const auto& g = config_.global;
  if (g.emergency_restart_threshold <= 0 || g.emergency_restart_interval.count() <= 0) return;
  if (!WIFSIGNALED(status) || (WTERMSIG(status) != SIGSEGV && WTERMSIG(status) != SIGBUS)) return;
  std::int64_t now = now_us();
  abnormal_exits_us_.push_back(now);
  std::int64_t window = g.emergency_restart_interval.count() * 1000000;
  std::erase_if(abnormal_exits_us_, [&](std::int64_t t) { return now - t > window; });
  if (static_cast<int>(abnormal_exits_us_.size()) >= g.emergency_restart_threshold) {
    spdlog::warn("failed processes threshold ({} in {} sec) is reached, initiating reload",
                 g.emergency_restart_threshold, g.emergency_restart_interval.count());
    abnormal_exits_us_.clear();
    signal_flags().reload = 1;
  }
}

// Debian's php-fpm is built with systemd support and says this after every
// start, under systemd or not (fpm_systemd_heartbeat).
void Master::log_systemd_interval() const {
  long interval = config_.global.systemd_interval.count();
  if (interval > 0)
    spdlog::info("systemd monitor interval set to {}ms", interval * 1000);
  else
    spdlog::info("systemd monitor disabled");
}

// php-fpm's systemd status line, every systemd_interval seconds.
void Master::report_to_systemd() {
  long interval = config_.global.systemd_interval.count();
  if (interval <= 0 || ++ticks_since_report_ < interval) return;
  ticks_since_report_ = 0;
  int active = 0, idle = 0;
  std::uint64_t accepted = 0, slow = 0;
  for (auto& p : pools_) {
    auto counts = p->board().counts();
    active += counts.active;
    idle += counts.idle;
    accepted += p->board().pool().accepted_conn.load();
    slow += p->board().pool().slow_requests.load();
  }
  std::uint64_t rate = accepted >= last_accepted_
                           ? (accepted - last_accepted_) / static_cast<std::uint64_t>(interval)
                           : 0;
  last_accepted_ = accepted;
  systemd_notify("STATUS=Processes active: " + std::to_string(active) +
                 ", idle: " + std::to_string(idle) + ", Requests: " + std::to_string(accepted) +
                 ", slow: " + std::to_string(slow) + ", Traffic: " + std::to_string(rate) +
                 "req/sec");
}

void Master::begin_stop(State state) {
  if (state_ == State::terminating || state_ == state) return;
  bool listening = state_ == State::normal;
  state_ = state;
  ticks_in_state_ = 0;
  stop_signal_ = state == State::finishing ? SIGQUIT : SIGTERM;
  systemd_notify("STOPPING=1");
  for (auto& p : pools_) p->signal_all(stop_signal_);
  for (pid_t pid : old_children_) ::kill(pid, stop_signal_);
  if (listening) stop_listening();
  // Logged once the sockets refuse connections, so whoever reads the line
  // (an operator, a test) finds them refused.
  spdlog::info(state == State::finishing ? "Finishing ..." : "Terminating ...");
}

// On a stop (never on a reload, which keeps the sockets across exec), new
// connections are refused at once, as php-fpm does, instead of queueing in a
// backlog that is reset when the last process holding the socket exits.
// The socket is shared by the master and every child (inherited), so closing
// it here would not do: shutdown() acts on the socket itself. On Linux,
// SHUT_RD on a listening TCP socket stops it listening (a SYN is answered
// with a reset, connect() fails with ECONNREFUSED, and accept() in the
// children fails with EINVAL); on a unix socket connect() fails with
// ECONNREFUSED. The children are told to stop before this (begin_stop).
void Master::stop_listening() {
  for (auto& p : pools_)
    if (::shutdown(p->listen_fd(), SHUT_RD) != 0 && errno != ENOTCONN)
      spdlog::warn("[pool {}] shutdown() of the listening socket failed: {} ({})", p->config().name,
                   std::strerror(errno), errno);
}

// QUIT -> TERM -> KILL, one step per process_control_timeout. Without a
// timeout (0) a graceful stop waits for its children, and a fast stop
// sends KILL after 1 s.
void Master::escalate() {
  if (state_ == State::normal) return;
  ++ticks_in_state_;
  long limit = config_.global.process_control_timeout.count();
  int next = 0;
  if (stop_signal_ == SIGQUIT && limit > 0 && ticks_in_state_ >= limit) next = SIGTERM;
  if (stop_signal_ == SIGTERM && ticks_in_state_ >= (limit > 0 ? limit : 1)) next = SIGKILL;
  if (next == 0) return;
  spdlog::warn("children still alive after process_control_timeout ({}s), sending SIG{}", limit,
               ::sigabbrev_np(next));
  stop_signal_ = next;
  ticks_in_state_ = 0;
  for (auto& p : pools_) p->signal_all(next);
  for (pid_t pid : old_children_) ::kill(pid, next);
}

void Master::wait_for_events(const sigset_t& mask) {
  std::vector<pollfd> fds;
  std::vector<std::size_t> owners;
  std::int64_t now = now_us();
  std::int64_t wake_at = 0;
  for (std::size_t i = 0; i < pools_.size(); ++i) {
    if (state_ != State::normal || !pms_[i]->wants_listen_events()) continue;
    if (listen_cooldown_until_us_[i] > now) {
      wake_at = wake_at == 0 ? listen_cooldown_until_us_[i]
                             : std::min(wake_at, listen_cooldown_until_us_[i]);
      continue;
    }
    fds.push_back(pollfd{pools_[i]->listen_fd(), POLLIN, 0});
    owners.push_back(i);
    // Kept connections handed over by the previous generation on a reload
    // wait there for a child as a new connection waits in the backlog.
    if (pools_[i]->handoff_receive() >= 0) {
      fds.push_back(pollfd{pools_[i]->handoff_receive(), POLLIN, 0});
      owners.push_back(i);
    }
  }
  std::size_t listen_count = fds.size();
  for (auto& p : pools_)
    for (int fd : p->output().fds()) fds.push_back(pollfd{fd, POLLIN, 0});
  timespec timeout{};
  timespec* tp = nullptr;
  if (wake_at > 0) {
    std::int64_t left = std::max<std::int64_t>(wake_at - now, 1000);
    timeout.tv_sec = left / 1000000;
    timeout.tv_nsec = (left % 1000000) * 1000;
    tp = &timeout;
  }
  int n = ::ppoll(fds.data(), fds.size(), tp, &mask);
  if (n <= 0) return;
  for (std::size_t k = listen_count; k < fds.size(); ++k) {
    if (fds[k].revents == 0) continue;
    for (auto& p : pools_)
      if (p->output().owns(fds[k].fd)) p->output().on_readable(fds[k].fd);
  }
  for (std::size_t k = 0; k < listen_count; ++k) {
    if (!(fds[k].revents & POLLIN)) continue;
    if (listen_cooldown_until_us_[owners[k]] > now) continue;  // its other socket, just now
    pms_[owners[k]]->on_connection_waiting();
    listen_cooldown_until_us_[owners[k]] = now_us() + kListenCooldownUs;
  }
}

int Master::run() {
  sigset_t wait_mask = install_master_signals();
  start_tick_timer();
  // The pm.start_servers notice is the config's (server/main.cpp), logged
  // before the sockets open, where php-fpm 8.2 logs it.
  spdlog::info("fpm is running, pid {}", ::getpid());
  for (auto& pm : pms_) pm->start();
  spdlog::info("ready to handle connections");
  log_systemd_interval();
  systemd_notify("READY=1\nSTATUS=Ready to handle connections");
  auto& flags = signal_flags();
  while (true) {
    if (flags.child) {
      flags.child = 0;
      reap();
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
      spdlog::debug("received SIGUSR1");
      if (reopen_logs_) reopen_logs_();
      // Children hold the old files and may not open the new ones (an
      // unprivileged `user`): as php-fpm 8.2 does, they finish what they
      // serve and exit, and their replacements inherit the new files.
      if (state_ == State::normal)
        for (auto& p : pools_)
          for (pid_t pid : p->pids()) p->retire(pid);
    }
    if (flags.reload) {
      flags.reload = 0;
      spdlog::info("Reloading in progress ...");
      if (state_ == State::normal && check_reload_ && check_reload_()) {
        reload_ = true;
        systemd_notify("RELOADING=1");
        // The old children finish what they serve and exit; the next
        // generation (same pid after exec) reaps them. Their kept
        // connections go to the next generation's children (handoff).
        for (auto& p : pools_) {
          p->board().pool().handing_over.store(1);
          p->signal_all(SIGQUIT);
        }
        return 0;
      }
    }
    if (flags.tick) {
      flags.tick = 0;
      reap();
      if (state_ == State::normal) {
        for (auto& pm : pms_) pm->tick();
        report_to_systemd();
      }
      escalate();
    }
    if (state_ != State::normal && total_children() == 0) {
      for (auto& p : pools_)
        for (int fd : p->output().fds())
          p->output().on_readable(fd);  // what the children said last
      break;
    }
    wait_for_events(wait_mask);
  }
  spdlog::info("exiting, bye-bye!");
  return 0;
}

}  // namespace cppfpm::pool
