#pragma once
// What PHP's session pages look like from outside: ids, cookies, bodies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cppfpm::test {

// session.sid_length=26, sid_bits_per_character=5: 26 chars of 0-9a-v.
bool is_session_id(std::string_view id);

// The session a memcached key belongs to: pecl-memcache (and cppfpm) keep
// the session under the bare id and its lock under `<id>.lock`, which stays
// behind, set to 0, once released (measured on PHP 8.2 + php8.2-memcache).
std::string session_of_key(std::string_view key);

// The id of a `PHPSESSID=<id>; path=/` Set-Cookie value, nullopt otherwise.
std::optional<std::string> session_id_of_set_cookie(std::string_view set_cookie);

// setSession.php's body: `<time><br><br>Session ID: <id>`.
struct SetSessionPage {
  std::int64_t timestamp = 0;
  std::string id;
};
std::optional<SetSessionPage> parse_set_session(std::string_view body);

// The session value setSession stores: `Itcys.top|i:<time>;`.
std::string stored_session_value(std::int64_t timestamp);

// PHP's var_dump of a string: `string(N) "..."` and a newline.
std::string var_dump_string(std::string_view value);

// Debian's php-fpm, which the parity and interop tests run beside cppfpm.
extern const char* const kPhpFpm;
// Whether it is installed; when not, says (WARN) that the php-fpm side of
// the test is skipped.
bool have_php_fpm();

// Seconds since the epoch, as PHP's time().
std::int64_t unix_now();

}  // namespace cppfpm::test
