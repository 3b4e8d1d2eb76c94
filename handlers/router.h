#pragma once
// Routes a request on SCRIPT_NAME, as php-fpm finds its script:
// "/setSession.php" and "/setSession" reach the same handler.
#include <string>
#include <string_view>
#include <unordered_map>

#include "handlers/handler.h"

namespace cppfpm::handlers {

class Router {
 public:
  void add(std::string script, Handler handler);
  // The handler for this request, or nullptr: php-fpm's "File not found.".
  const Handler* find(const server::Request& request) const;
  // Fills the answer php-fpm gives for a script it cannot find.
  static void not_found(server::Response& response);

  static std::string normalise(std::string_view script);

 private:
  std::unordered_map<std::string, Handler> routes_;
};

}  // namespace cppfpm::handlers
