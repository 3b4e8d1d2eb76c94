#pragma once
// /queryCache.php?id=N (handlers/query_cache.cpp).
#include "handlers/handler.h"

namespace cppfpm::handlers {

void query_cache(const server::Request&, server::Response&, Context&);

}  // namespace cppfpm::handlers
