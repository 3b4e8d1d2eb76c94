#include "support/reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>

namespace cppfpm::test {

namespace {

std::mutex reaper_mutex;
int reaper_pipe = -1;  // write end; the helper sees EOF when we are gone

// The helper: reads +pgid / -pgid messages until EOF, then kills what is
// left. Async-signal-safe calls only (the test process may have threads).
[[noreturn]] void run_reaper(int in) {
  constexpr int max_groups = 4096;
  pid_t groups[max_groups];
  int count = 0;
  std::int32_t message;
  while (::read(in, &message, sizeof message) == static_cast<ssize_t>(sizeof message)) {
    if (message > 0 && count < max_groups) {
      groups[count++] = message;
    } else if (message < 0) {
      for (int i = 0; i < count; ++i)
        if (groups[i] == -message) groups[i] = groups[--count];
    }
  }
  for (int i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
  ::_exit(0);
}

void send(std::int32_t message) {
  std::lock_guard lock(reaper_mutex);
  if (reaper_pipe < 0) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[0], 0);
      ::close_range(1, ~0U, 0);
      ::setpgid(0, 0);  // out of the groups it kills, and of the terminal's
      run_reaper(0);
    }
    ::close(fds[0]);
    if (pid < 0) {
      ::close(fds[1]);
      return;
    }
    reaper_pipe = fds[1];
  }
  [[maybe_unused]] auto written = ::write(reaper_pipe, &message, sizeof message);
}

}  // namespace

void reap_group_if_we_die(pid_t pgid) {
  if (pgid > 0) send(static_cast<std::int32_t>(pgid));
}

void forget_group(pid_t pgid) {
  if (pgid > 0) send(-static_cast<std::int32_t>(pgid));
}

}  // namespace cppfpm::test
