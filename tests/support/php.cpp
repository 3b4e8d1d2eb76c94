#include "support/php.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <regex>

namespace cppfpm::test {

const char* const kPhpFpm = "/usr/sbin/php-fpm8.2";

bool have_php_fpm() {
  if (std::filesystem::exists(kPhpFpm)) return true;
  WARN("php-fpm8.2 is not installed: the php-fpm side of this test is skipped");
  return false;
}

bool is_session_id(std::string_view id) {
  if (id.size() != 26) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'v'))) return false;
  return true;
}

std::string session_of_key(std::string_view key) {
  constexpr std::string_view lock = ".lock";
  if (key.size() > lock.size() && key.substr(key.size() - lock.size()) == lock)
    key.remove_suffix(lock.size());
  return std::string(key);
}

std::optional<std::string> session_id_of_set_cookie(std::string_view set_cookie) {
  static const std::regex form("PHPSESSID=([^;]*); path=/");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(set_cookie.begin(), set_cookie.end(), m, form)) return std::nullopt;
  return m[1].str();
}

std::optional<SetSessionPage> parse_set_session(std::string_view body) {
  static const std::regex form("([0-9]+)<br><br>Session ID: ([^\\s]*)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(body.begin(), body.end(), m, form)) return std::nullopt;
  return SetSessionPage{std::stoll(m[1].str()), m[2].str()};
}

std::string stored_session_value(std::int64_t timestamp) {
  return "Itcys.top|i:" + std::to_string(timestamp) + ";";
}

std::string var_dump_string(std::string_view value) {
  return "string(" + std::to_string(value.size()) + ") \"" + std::string(value) + "\"\n";
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cppfpm::test
