#include "server/memcached/expiry.h"

namespace cppfpm::memcached {

std::int64_t memcached_exptime(std::chrono::seconds ttl, std::int64_t now_unix) {
  const std::int64_t seconds = ttl.count();
  if (seconds < 0) return -1;
  if (seconds <= kMaxRelativeExptime) return seconds;
  return now_unix + seconds;
}

time_t memcached_exptime_from_now(std::chrono::seconds ttl) {
  return static_cast<time_t>(memcached_exptime(ttl, std::time(nullptr)));
}

}  // namespace cppfpm::memcached
