#pragma once
// The session cookie: reading it from a Cookie request header and writing
// the Set-Cookie value PHP's session_start() sends.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "session/settings.h"

namespace cppfpm::session {

// The value of the first cookie called `name` in a Cookie header
// (RFC 6265 section 5.4: "a=b; c=d"), url-decoded as PHP decodes $_COOKIE
// ("%0d" -> CR, "+" -> space). Pairs without '=' and empty names are
// skipped; nullopt when there is no such cookie. Validating the value is
// the caller's job.
std::optional<std::string> find_cookie(std::string_view cookie_header, std::string_view name);

// "Thu, 19 Nov 1981 08:52:00 GMT" (RFC 7231 IMF-fixdate, PHP's
// 'D, d M Y H:i:s \G\M\T' in UTC).
std::string format_http_date(std::int64_t unix_seconds);

// The value of the Set-Cookie header for session id `id`, exactly as
// PHP 8.2's php_session_send_cookie() writes it:
//   PHPSESSID=<id>[; expires=<date>; Max-Age=<n>][; path=/][; domain=d][; secure][; HttpOnly][;
//   SameSite=s]
// `now_unix` is the current time, used when cookie_lifetime > 0.
std::string make_set_cookie(std::string_view id, const Settings& settings, std::int64_t now_unix);

}  // namespace cppfpm::session
