#pragma once
// access.log with php-fpm's access.format codes. Supported: %C (cpu, always
// 0.00), %d (duration in seconds, %{mili}d / %{micro}d), %{NAME}e (a
// FastCGI param), %f (script), %l (content length), %m (method),
// %M (memory, always 0), %n (pool), %p (child pid), %P (master pid),
// %q (query string), %Q ("?" when there is a query), %r (request URI),
// %R (remote address), %s (status), %t / %{FORMAT}t (start time, strftime),
// %T / %{FORMAT}T (end time), %u (REMOTE_USER), %% (a percent sign).
#include <cstdint>
#include <string>

#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::server {

struct AccessRecord {
  const Request& request;
  const Response& response;
  std::int64_t start_us;
  std::int64_t end_us;
  std::string pool;
};

std::string format_access_line(const std::string& format, const AccessRecord& record);

// Appends one line per request; each line is a single write() on an
// O_APPEND fd, so lines of concurrent threads and children never mix.
class AccessLog {
 public:
  AccessLog(std::string path, std::string format);
  ~AccessLog();
  void write(const AccessRecord& record);
  void reopen();
  bool enabled() const { return !path_.empty(); }

 private:
  std::string path_;
  std::string format_;
  int fd_ = -1;
};

}  // namespace cppfpm::server
