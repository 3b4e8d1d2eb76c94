// The table of compiled pages. Add a page here and it is routed on its
// SCRIPT_NAME, with or without ".php".
#include <ctime>

#include "handlers/handler.h"
#include "handlers/query_cache.h"

namespace cppfpm::handlers {

std::int64_t SystemClock::unix_now() const {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::vector<Route> builtin_routes() {
  return {
      {"/setSession", set_session},
      {"/showSession", show_session},
      {"/testMySQL", test_mysql},
      {"/queryCache", query_cache},
  };
}

}  // namespace cppfpm::handlers
