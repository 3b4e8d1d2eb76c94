#pragma once
// URL encoding as PHP does it (php-src ext/standard/url.c).
#include <string>
#include <string_view>

namespace cppfpm::text {

enum class Plus {
  space,  // urldecode(): application/x-www-form-urlencoded, "+" is a space
  keep,   // rawurldecode(): RFC 3986, "+" is a plus
};

// "%XX" (either case) is the byte XX; a '%' not followed by two hex digits
// stays as written, as PHP leaves it.
std::string url_decode(std::string_view text, Plus plus = Plus::space);

// urlencode(): [A-Za-z0-9_.-] unchanged, a space as "+", every other byte
// as "%XX" with upper-case hex digits.
std::string url_encode(std::string_view text);

}  // namespace cppfpm::text
