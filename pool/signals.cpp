#include "pool/signals.h"

#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include <spdlog/spdlog.h>

namespace cppfpm::pool {
namespace {

SignalFlags g_flags;
constexpr int kHandled[] = {SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM};

extern "C" void on_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
      g_flags.terminate = 1;
      break;
    case SIGQUIT:
      g_flags.quit = 1;
      break;
    case SIGUSR1:
      g_flags.reopen = 1;
      break;
    case SIGUSR2:
      g_flags.reload = 1;
      break;
    case SIGCHLD:
      g_flags.child = 1;
      break;
    case SIGALRM:
      g_flags.tick = 1;
      break;
    default:
      break;
  }
}

}  // namespace

SignalFlags& signal_flags() {
  return g_flags;
}

sigset_t install_master_signals() {
  sigset_t block;
  sigemptyset(&block);
  for (int s : kHandled) sigaddset(&block, s);
  sigset_t old;
  if (sigprocmask(SIG_BLOCK, &block, &old) != 0)
    spdlog::error("sigprocmask() failed: {} ({})", std::strerror(errno), errno);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : kHandled)
    if (sigaction(s, &sa, nullptr) != 0)
      spdlog::error("sigaction({}) failed: {}", s, std::strerror(errno));
  std::signal(SIGPIPE, SIG_IGN);
  for (int s : kHandled) sigdelset(&old, s);
  return old;
}

void start_tick_timer() {
  itimerval timer{};
  timer.it_interval.tv_sec = 1;
  timer.it_value.tv_sec = 1;
  if (setitimer(ITIMER_REAL, &timer, nullptr) != 0)
    spdlog::error("setitimer() failed: {} ({})", std::strerror(errno), errno);
}

void reset_signals_in_child() {
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  for (int s : kHandled) std::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace cppfpm::pool
