#pragma once
// The error log in php-fpm's shape: "[25-Nov-2026 15:00:00] NOTICE: text".
// Goes to stderr, or to `error_log` (reopened on SIGUSR1).
//
// Log rotation: every log file (error_log, each pool's access.log and
// slowlog) is opened by the master, which runs as root, and children, which
// may run as an unprivileged `user`, inherit the descriptors and never open
// a path. On SIGUSR1 the master reopens them all and then restarts its
// children gracefully, as php-fpm 8.2 does, so the new children inherit the
// new files whatever user they run as.
#include <string>

#include "pool/config.h"

namespace cppfpm::server {

// error_log = syslog: each line goes to syslog(3) as php-fpm sends it,
// "[NOTICE] text" at the matching priority (LOG_NOTICE...), under `ident`
// with the pid (LOG_PID) and `facility`; children inherit the connection.
struct SyslogSettings {
  std::string ident = "cppfpm";
  int facility = 3 << 3;  // LOG_DAEMON
};

// level: php-fpm's log_level (alert|error|warning|notice|debug).
// also_stderr: lines written to the error_log file go to stderr as well
// (php-fpm in the foreground with -O, or with stderr on a terminal).
void init_logging(const std::string& error_log, const std::string& level, bool also_stderr = false,
                  const SyslogSettings& syslog = {});
// True when error_log names syslog rather than a file.
bool is_syslog(const std::string& error_log);
// A child whose fds 1 and 2 are about to become catch_workers_output pipes:
// its own log lines, when they go to stderr, keep going to the original.
void keep_log_off_stdio();
// In the master, before any child: opens every pool's access.log and slowlog.
void open_pool_logs(const pool::Config& config);
// A descriptor of its own on the pool log file `path` (access.log,
// slowlog), for the caller to close: a copy of the master's (inherited;
// a child may run as a user that cannot open the file), or, when the master
// holds none for that path, the file opened for appending (0640). -1 with
// errno set when neither works.
int open_pool_log(const std::string& path);
// php-fpm's time stamp before a line it prints itself (-t, -tt):
// "[01-Dec-2026 17:14:27] ".
std::string log_time_prefix();

// In the master: reopens the error_log file and the pool log files (after
// logrotate moved them away) and logs php-fpm's "re-opened" notices.
void reopen_logs();

}  // namespace cppfpm::server
