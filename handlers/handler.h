#pragma once
// A compiled page: plain C++ that reads a request view and a context and
// fills a response. No FastCGI, sockets or memcached in sight.
#include <functional>
#include <string>
#include <vector>

#include "handlers/context.h"
#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::handlers {

using Handler = std::function<void(const server::Request&, server::Response&, Context&)>;

struct Route {
  std::string script;  // "/setSession" (".php" optional on the wire)
  Handler handler;
};

// The pages this build serves (handlers/registry.cpp).
std::vector<Route> builtin_routes();
#ifdef CPPFPM_TEST_PAGES
// Test-only pages (handlers/test_pages.cpp), built only with the CMake
// option CPPFPM_TEST_PAGES and served when the environment has
// CPPFPM_TEST_PAGES=1: /__test/sleep?ms=N answers after N milliseconds.
std::vector<Route> test_routes();
#endif

void set_session(const server::Request&, server::Response&, Context&);
void show_session(const server::Request&, server::Response&, Context&);
void test_mysql(const server::Request&, server::Response&, Context&);

}  // namespace cppfpm::handlers
