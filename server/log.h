#pragma once
// The error log in php-fpm's shape: "[25-Nov-2026 15:00:00] NOTICE: text".
// Goes to stderr, or to `error_log` (reopened on SIGUSR1).
#include <string>

namespace cppfpm::server {

// level: php-fpm's log_level (alert|error|warning|notice|debug).
// also_stderr: lines written to the error_log file go to stderr as well
// (php-fpm in the foreground with -O, or with stderr on a terminal).
void init_logging(const std::string& error_log, const std::string& level, bool also_stderr = false);
// A child whose fds 1 and 2 are about to become catch_workers_output pipes:
// its own log lines, when they go to stderr, keep going to the original.
void keep_log_off_stdio();
// Reopens the error_log file (after logrotate moved it away).
void reopen_logs();

}  // namespace cppfpm::server
