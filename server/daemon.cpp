#include "server/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "server/log.h"

namespace cppfpm::server {

bool daemonize(Fd& ready) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    spdlog::error("pipe2() failed while daemonizing: {} ({})", std::strerror(errno), errno);
    return false;
  }
  Fd read_end(pipefd[0]), write_end(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("fork() failed while daemonizing: {} ({})", std::strerror(errno), errno);
    return false;
  }
  if (pid > 0) {
    write_end.reset();  // so that read() sees EOF if the daemon dies
    char status = 1;
    if (::read(read_end.get(), &status, 1) != 1) status = 1;
    ::_exit(status);
  }
  read_end.reset();
  ::setsid();
  if (Fd null(::open("/dev/null", O_RDWR)); null) {
    ::dup2(null.get(), STDIN_FILENO);
    ::dup2(null.get(), STDOUT_FILENO);
  }
  ready = std::move(write_end);
  return true;
}

void report_ready(Fd& ready, char status) {
  if (!ready) return;
  [[maybe_unused]] auto n = ::write(ready.get(), &status, 1);
  ready.reset();
}

void point_stderr_at_log(const std::string& error_log) {
  if (error_log.empty() || is_syslog(error_log)) return;
  point_stderr_at_error_log();  // and after each SIGUSR1, the new file
}

void write_pid_file(const std::string& path) {
  std::ofstream pid_file(path, std::ios::trunc);
  pid_file << ::getpid();
  if (!pid_file) spdlog::error("failed to write pid file '{}'", path);
}

}  // namespace cppfpm::server
