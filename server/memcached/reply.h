#pragma once
// What a libmemcached return code says about the server that gave it: the
// difference between "this request failed" and "memcached is down", which
// decides whether an outage is logged.
#include <libmemcached/memcached.h>

namespace cppfpm::memcached {

enum class Reply {
  answered,     // done, or a protocol answer: not found, exists, not stored
  refused,      // the server answered but refused this request (too big,
                // not a number, bad key): an error of the request, no outage
  unreachable,  // no answer: refused connection, timeout, lost connection
};

Reply classify_reply(memcached_return_t rc);

// libmemcached did not ask the server: it skips it after a failure
// (MEMCACHED_BEHAVIOR_RETRY_TIMEOUT) or has marked it dead. Unreachable
// for the request, but no news about the server.
bool skipped_server(memcached_return_t rc);

// The connection the handle held turned out closed or reset before an
// answer came: typically the server restarted since this handle last used
// it. Worth one more try, which opens a new connection. A timeout is not
// one (the server is there but silent; trying again doubles the wait).
bool connection_lost(memcached_return_t rc);

// `call()` (one request to one server), and once more when it found its
// connection lost. When the second try is only skipped (the failed connect
// put the server in its retry timeout), the first try's code is kept: that
// one went to the server. Only for requests that may run twice: reads,
// set, touch, delete, and an add whose caller recognises its own value.
template <typename Call>
memcached_return_t call_with_retry(Call&& call) {
  const memcached_return_t first = call();
  if (!connection_lost(first)) return first;
  const memcached_return_t second = call();
  return skipped_server(second) ? first : second;
}

}  // namespace cppfpm::memcached
