#pragma once
// Running in the background (php-fpm's `daemonize = yes` or -D) and the pid
// file.
#include <string>

#include "server/fastcgi/fd.h"

namespace cppfpm::server {

// Forks into the background. The parent waits until the daemon reports
// through `ready` (report_ready) and exits with the reported status, or 1
// when the daemon dies first. In the daemon: a new session, stdin and
// stdout on /dev/null (stderr stays until point_stderr_at_log). false when
// pipe2() or fork() failed, in the original process (logged, naming the
// call and the errno).
bool daemonize(Fd& ready);

// Tells the waiting parent (if any) its exit status; closes `ready`.
void report_ready(Fd& ready, char status);

// In the daemon, once the log is set up: stderr goes to the error_log file,
// as php-fpm's daemon (fpm_stdio_init_final), so nothing is written to the
// terminal or pipe of whoever started it; after SIGUSR1 it follows the
// log to the new file, as php-fpm's does. "" (log to stderr) and "syslog"
// leave it alone.
void point_stderr_at_log(const std::string& error_log);

// Writes this process's pid to `path`, without a newline as php-fpm does;
// logs a failure and carries on.
void write_pid_file(const std::string& path);

}  // namespace cppfpm::server
