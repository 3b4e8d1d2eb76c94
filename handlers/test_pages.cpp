// Pages for the test suites only, registered when the environment has
// CPPFPM_TEST_PAGES=1: a page that takes as long as asked, to exercise
// request_terminate_timeout, the slowlog and the pm under load.
#include <chrono>
#include <string>
#include <thread>

#include "handlers/handler.h"

namespace cppfpm::handlers {
namespace {

long query_number(std::string_view query, std::string_view name, long fallback) {
  std::size_t pos = 0;
  while (pos < query.size()) {
    auto end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view item = query.substr(pos, end - pos);
    if (item.size() > name.size() && item.substr(0, name.size()) == name && item[name.size()] == '=') {
      try {
        return std::stol(std::string(item.substr(name.size() + 1)));
      } catch (const std::exception&) {
        return fallback;
      }
    }
    pos = end + 1;
  }
  return fallback;
}

void sleep_page(const server::Request& request, server::Response& response, Context&) {
  long ms = query_number(request.query_string(), "ms", 1000);
  if (ms < 0) ms = 0;
  if (ms > 600000) ms = 600000;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  response.write("slept " + std::to_string(ms) + "\n");
}

}  // namespace

std::vector<Route> test_routes() { return {{"/__test/sleep", sleep_page}}; }

}  // namespace cppfpm::handlers
