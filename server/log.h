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
#include <cstddef>
#include <string>
#include <string_view>

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
// [global] log_limit for the lines cppfpm writes itself (master and
// children): a line too long is cut as php-fpm 8.2 cuts its own
// (cut_length). Worker output is wrapped instead (pool/worker_output.h).
void set_log_limit(int log_limit);
// How many bytes of a log line of `length` bytes (its prefix included, its
// line end not) php-fpm 8.2 keeps: all of a line under 2048 bytes; else
// min(log_limit, 2048) - 1, of which the last three become "...".
std::size_t cut_length(std::size_t length, int log_limit);
// `line` (without line end) as php-fpm 8.2 writes it: cut, or whole.
std::string cut_log_line(std::string line, int log_limit);
// "[01-Dec-2026 17:14:27] LEVEL: text\n" cut as above: a line php-fpm
// prints outside the log (-t, -tt).
std::string stamped_line(std::string_view level, std::string_view text, int log_limit);
// True when error_log names syslog rather than a file.
bool is_syslog(const std::string& error_log);
// A child whose fds 1 and 2 are about to become catch_workers_output pipes:
// its own log lines, when they go to stderr, keep going to the original.
void keep_log_off_stdio();
// In the master, before any child: opens every pool's access.log, and its
// slowlog when request_slowlog_timeout is set (php-fpm creates it only
// then); a file that does not exist is created 0600, as php-fpm does.
void open_pool_logs(const pool::Config& config);
// A descriptor of its own on the pool log file `path` (access.log,
// slowlog), for the caller to close: a copy of the master's (inherited;
// a child may run as a user that cannot open the file), or, when the master
// holds none for that path, the file opened for appending (created 0600, as
// php-fpm creates its access log and slowlog). -1 with errno set when
// neither works.
int open_pool_log(const std::string& path);
// php-fpm's time stamp before a line it prints itself (-t, -tt):
// "[01-Dec-2026 17:14:27] ".
std::string log_time_prefix();

// The daemon (php-fpm's fpm_stdio_init_final): fd 2 becomes the error log
// file, so stray writes to stderr land there, and follows it to each new
// file on reopen_logs(), as php-fpm's reopen dup2()s it. Nothing happens
// when the log is stderr or syslog.
void point_stderr_at_error_log();

// In the master: reopens the error_log file and the pool log files (after
// logrotate moved them away) and logs php-fpm's "re-opened" notices.
void reopen_logs();

}  // namespace cppfpm::server
