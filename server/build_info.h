#pragma once
// `cppfpm -i` and `-m`: what php-fpm's -i (phpinfo) and -m (modules) tell
// about a PHP build, told about this one.
#include <ostream>
#include <string_view>
#include <vector>

#include "handlers/handler.h"

namespace cppfpm::server {

// "name => value" lines, as phpinfo() prints them on a terminal.
void print_build_info(std::ostream& out, std::string_view version);

// "[Compiled Pages]" and one script name per line, as -m lists modules.
void print_pages(std::ostream& out, const std::vector<handlers::Route>& routes);

}  // namespace cppfpm::server
