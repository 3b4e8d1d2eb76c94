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

}  // namespace cppfpm::memcached
