#pragma once
// Escaping for the status page's json form (pool/status.cpp); xml and html
// use text::html_escape.
#include <string>
#include <string_view>

namespace cppfpm::pool {

// JSON escaping with "/" as "\/", as PHP's json_encode writes it.
std::string json_text(std::string_view s);
// The query string as php-fpm 8.1+ writes it into JSON ("/" as "\/",
// non-ASCII as \uXXXX, invalid UTF-8 dropped), without the quotes.
std::string json_query(std::string_view s);

}  // namespace cppfpm::pool
