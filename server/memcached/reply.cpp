#include "server/memcached/reply.h"

namespace cppfpm::memcached {

Reply classify_reply(memcached_return_t rc) {
  switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
    case MEMCACHED_DELETED:
    case MEMCACHED_NOTFOUND:
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
      return Reply::answered;
    // "SERVER_ERROR object too large for cache", "CLIENT_ERROR cannot
    // increment or decrement non-numeric value" (memcached's protocol.txt).
    case MEMCACHED_E2BIG:
    case MEMCACHED_CLIENT_ERROR:
    case MEMCACHED_SERVER_ERROR:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_BAD_KEY_PROVIDED:
      return Reply::refused;
    default:
      return Reply::unreachable;
  }
}

}  // namespace cppfpm::memcached
