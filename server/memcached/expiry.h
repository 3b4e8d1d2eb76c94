#pragma once
// The one rule for turning a lifetime into memcached's exptime, for the
// session store and the query cache alike.
#include <chrono>
#include <cstdint>
#include <ctime>

namespace cppfpm::memcached {

// memcached's protocol.txt: an exptime of 0 never expires, one up to 30
// days is relative to now, a larger one is an absolute unix time, and a
// negative one is expired at once.
inline constexpr std::int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

// The exptime memcached should get for a lifetime of `ttl` at `now_unix`:
// 0 stays "never expires"; a negative lifetime is -1 (already expired),
// never 0, which memcached would keep forever; above 30 days, now + ttl.
std::int64_t memcached_exptime(std::chrono::seconds ttl, std::int64_t now_unix);

// The same at the current wall-clock time, as libmemcached takes it.
time_t memcached_exptime_from_now(std::chrono::seconds ttl);

}  // namespace cppfpm::memcached
