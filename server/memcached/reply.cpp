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

bool skipped_server(memcached_return_t rc) {
  return rc == MEMCACHED_SERVER_TEMPORARILY_DISABLED || rc == MEMCACHED_SERVER_MARKED_DEAD;
}

bool connection_lost(memcached_return_t rc) {
  switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_ERRNO:
      return true;
    default:
      return false;
  }
}

}  // namespace cppfpm::memcached
