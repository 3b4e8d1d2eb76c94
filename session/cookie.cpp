#include "session/cookie.h"

#include <array>
#include <cstdio>
#include <limits>

#include "server/text/strings.h"
#include "server/text/url.h"

namespace cppfpm::session {
namespace {

// Settings come from the operator, but a CR, LF or NUL in one would end
// the header line, so they never reach the output.
void append_header_safe(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
}

struct CivilTime {
  std::int64_t year;
  int month;    // 1..12
  int day;      // 1..31
  int weekday;  // 0 = Sunday
  int hour, minute, second;
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Proleptic Gregorian calendar from a day count since 1970-01-01, with the
// 400-year era arithmetic (era = 146097 days).
CivilTime to_civil(std::int64_t unix_seconds) {
  const std::int64_t days = floor_div(unix_seconds, 86400);
  const std::int64_t seconds_of_day = unix_seconds - days * 86400;
  const std::int64_t shifted = days + 719468;  // days since 0000-03-01
  const std::int64_t era = floor_div(shifted, 146097);
  const std::int64_t day_of_era = shifted - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;  // month from March = 0
  CivilTime t{};
  t.day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = year_of_era + era * 400 + (t.month <= 2 ? 1 : 0);
  t.weekday = static_cast<int>(days + 4 - floor_div(days + 4, 7) * 7);  // 1970-01-01: Thursday
  t.hour = static_cast<int>(seconds_of_day / 3600);
  t.minute = static_cast<int>(seconds_of_day / 60 % 60);
  t.second = static_cast<int>(seconds_of_day % 60);
  return t;
}

}  // namespace

std::optional<std::string> find_cookie(std::string_view cookie_header, std::string_view name) {
  if (name.empty()) return std::nullopt;
  std::size_t pos = 0;
  while (pos <= cookie_header.size()) {
    std::size_t end = cookie_header.find(';', pos);
    if (end == std::string_view::npos) end = cookie_header.size();
    const std::string_view pair = cookie_header.substr(pos, end - pos);
    const std::size_t eq = pair.find('=');
    // As PHP reads cookies (php_default_treat_data): blanks before a name
    // are skipped, the value is taken as sent. " id" is not "id": a value
    // with blanks fails id validation and gets a fresh session.
    if (eq != std::string_view::npos && text::trim_start(pair.substr(0, eq)) == name) {
      return text::url_decode(pair.substr(eq + 1));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::string format_http_date(std::int64_t unix_seconds) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const CivilTime t = to_civil(unix_seconds);
  std::array<char, 64> buf;
  const int n = std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04lld %02d:%02d:%02d GMT",
                              kDays[static_cast<std::size_t>(t.weekday)], t.day,
                              kMonths[static_cast<std::size_t>(t.month - 1)],
                              static_cast<long long>(t.year), t.hour, t.minute, t.second);
  return std::string(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::string make_set_cookie(std::string_view id, const Settings& settings, std::int64_t now_unix) {
  // The id is url-encoded because it may have come from the client
  // (php-src: "URL encode id because it might be user supplied").
  std::string out = text::url_encode(settings.name);
  out += '=';
  out += text::url_encode(id);
  if (settings.cookie_lifetime > 0 &&
      now_unix <= std::numeric_limits<std::int64_t>::max() - settings.cookie_lifetime) {
    const std::int64_t expires = now_unix + settings.cookie_lifetime;
    if (expires > 0) {
      out += "; expires=";
      out += format_http_date(expires);
      out += "; Max-Age=";
      out += std::to_string(settings.cookie_lifetime);
    }
  }
  if (!settings.cookie_path.empty()) {
    out += "; path=";
    append_header_safe(out, settings.cookie_path);
  }
  if (!settings.cookie_domain.empty()) {
    out += "; domain=";
    append_header_safe(out, settings.cookie_domain);
  }
  if (settings.cookie_secure) out += "; secure";
  if (settings.cookie_httponly) out += "; HttpOnly";
  if (!settings.cookie_samesite.empty()) {
    out += "; SameSite=";
    append_header_safe(out, settings.cookie_samesite);
  }
  return out;
}

}  // namespace cppfpm::session
