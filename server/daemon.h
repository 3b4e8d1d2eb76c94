#pragma once
// Running in the background (php-fpm's `daemonize = yes` or -D) and the pid
// file.
#include <string>

#include "server/fastcgi/fd.h"

namespace cppfpm::server {

// Forks into the background. The parent waits until the daemon reports
// through `ready` (report_ready) and exits with the reported status, or 1
// when the daemon dies first. In the daemon: a new session, stdin and
// stdout on /dev/null (stderr stays until the log takes it). false when
// pipe2() or fork() failed, in the original process.
bool daemonize(Fd& ready);

// Tells the waiting parent (if any) its exit status; closes `ready`.
void report_ready(Fd& ready, char status);

// Writes this process's pid to `path`; logs a failure and carries on.
void write_pid_file(const std::string& path);

}  // namespace cppfpm::server
