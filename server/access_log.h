#pragma once
// access.log with php-fpm's access.format codes. Supported: %C (the
// serving thread's CPU in percent of the duration, "%.2f"), %d (duration in seconds, %{mili}d /
// %{micro}d), %{NAME}e (a FastCGI param), %f (script), %l (content length), %m (method), %M /
// %{kilo}M / %{mega}M (the child's peak resident set size), %n (pool), %p (child pid), %P (master
// pid), %q (query string), %Q ("?" when there is a query), %r (request URI), %R (the socket peer's
// address, "-" on a unix socket; not REMOTE_ADDR, as php-fpm), %s (status), %t / %{FORMAT}t (start
// time, strftime), %T / %{FORMAT}T (end time), %u (REMOTE_USER), %% (a percent sign).
#include <cstdint>
#include <string>
#include <vector>

#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::server {

struct AccessRecord {
  const Request& request;
  const Response& response;
  std::int64_t start_us;
  std::int64_t end_us;
  std::string pool;
  std::string peer;         // the connection's peer address, "" on a unix socket
  std::int64_t cpu_us = 0;  // CPU the serving thread used (CLOCK_THREAD_CPUTIME_ID)
  std::int64_t memory = 0;  // the child's peak resident set size, bytes
};

std::string format_access_line(const std::string& format, const AccessRecord& record);

// access.suppress_path[] as php-fpm 8.2 applies it (fpm_log.c): left out
// only when %r is one of `paths`, the method GET or HEAD, there is no body
// and no query, and the status is 2xx; anything else is logged.
bool suppressed(const std::vector<std::string>& paths, const AccessRecord& record);

// Appends one line per request; each line is a single write() on an
// O_APPEND fd, so lines of concurrent threads and children never mix.
class AccessLog {
 public:
  AccessLog(std::string path, std::string format, std::vector<std::string> suppress_paths = {});
  ~AccessLog();
  void write(const AccessRecord& record);
  void reopen();
  bool enabled() const { return !path_.empty(); }

 private:
  std::string path_;
  std::string format_;
  std::vector<std::string> suppress_paths_;
  int fd_ = -1;
};

}  // namespace cppfpm::server
