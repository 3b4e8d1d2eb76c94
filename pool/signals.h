#pragma once
// The master's signals. Handlers only set flags; the master loop sleeps in
// ppoll() with them unblocked and acts on them (php-fpm's SIGINT/TERM fast stop, QUIT
// graceful stop, USR1 reopen logs, USR2 reload; CHLD reap; ALRM the
// once-a-second maintenance tick).
#include <csignal>

namespace cppfpm::pool {

struct SignalFlags {
  volatile std::sig_atomic_t terminate = 0;  // SIGINT, SIGTERM
  volatile std::sig_atomic_t quit = 0;       // SIGQUIT
  volatile std::sig_atomic_t reopen = 0;     // SIGUSR1
  volatile std::sig_atomic_t reload = 0;     // SIGUSR2
  volatile std::sig_atomic_t child = 0;      // SIGCHLD
  volatile std::sig_atomic_t tick = 0;       // SIGALRM
};

SignalFlags& signal_flags();

// Blocks the master's signals (delivered only inside ppoll()) and
// installs the flag-setting handlers. Returns the mask to wait with.
sigset_t install_master_signals();
// Starts the 1 s maintenance timer (setitimer, SIGALRM).
void start_tick_timer();
// In a freshly forked child: default dispositions, nothing blocked.
void reset_signals_in_child();

}  // namespace cppfpm::pool
