#pragma once
// A child process for tests: fork/exec with an argv, stdout and stderr
// appended to a log file, stopped and reaped when the object goes away.
#include <sys/types.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/net.h"

namespace cppfpm::test {

struct ProcessOptions {
  std::vector<std::pair<std::string, std::string>> env;  // added to this environment
  std::filesystem::path cwd;
  // SIGKILL the child if the test process dies first (off for services
  // that must outlive their starter, like the CTest-fixture MariaDB).
  bool die_with_parent = true;
};

// `name` as found on $PATH, /usr/sbin or /sbin; `name` itself if it has a '/'.
std::filesystem::path find_program(const std::string& name);

class Process {
 public:
  Process(std::vector<std::string> argv, std::filesystem::path log, ProcessOptions options = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // stop(): SIGTERM, then SIGKILL; also SIGKILLs what is left of its
  // process group so a crashed master leaves no children behind.
  ~Process();

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_; }
  std::string log() const;
  const std::vector<std::string>& argv() const { return argv_; }

  // True while the child has not exited (reaps it if it has).
  bool running();
  // The wait() status once exited; nullopt while running.
  std::optional<int> exit_status();
  // Waits up to `timeout` for the exit; the wait() status, or nullopt.
  std::optional<int> wait_exit(Millis timeout);
  // Sends `sig` and waits up to `grace`, then SIGKILLs. Returns the wait()
  // status. Safe to call again after the child is gone.
  int stop(int sig = SIGTERM, Millis grace = 5s);
  // Sends a signal without waiting.
  void signal(int sig);
  // Forgets the child without stopping it; it keeps running.
  pid_t release();

  // Waits until 127.0.0.1:port accepts; false on timeout or when the child
  // exits first.
  bool wait_for_port(int port, Millis timeout);

  // Live processes whose parent is this child (e.g. pool children).
  std::vector<pid_t> children() const;

 private:
  std::vector<std::string> argv_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  bool reaped_ = false;  // registered with the reaper (support/reaper.h)
};

// Runs a command to completion (output appended to `log`); the exit code,
// 128+signal when killed, or -1 after `timeout` (the command is killed).
int run_command(std::vector<std::string> argv, const std::filesystem::path& log,
                Millis timeout = 30s, ProcessOptions options = {});

// True while `pid` names a live process (not a zombie).
bool pid_alive(pid_t pid);

// CPU time (user + system) `pid` has used so far, in seconds, read from
// /proc/<pid>/stat (fields 14 and 15); -1 when it cannot be read.
double cpu_seconds(pid_t pid);

// Human text for a wait() status: "exit 0", "signal 11".
std::string describe_status(int status);

}  // namespace cppfpm::test
