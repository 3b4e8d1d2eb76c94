#pragma once
// htmlspecialchars() (php-src ext/standard/html.c), byte for byte.
#include <string>
#include <string_view>

namespace cppfpm::text {

enum class Quotes {
  compat,  // ENT_COMPAT: '"' escaped, '\'' kept (php-fpm's status page)
  both,    // ENT_QUOTES: '\'' as "&#039;" too (PHP 8.1+'s default flags)
};

// '&' '<' '>' '"' (and with Quotes::both '\'') as entities; other bytes as
// they are (no UTF-8 validation: the pages write what they were given).
std::string html_escape(std::string_view text, Quotes quotes);

}  // namespace cppfpm::text
