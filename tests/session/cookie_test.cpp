#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "server/text/url.h"
#include "session/cookie.h"

using cppfpm::session::find_cookie;
using cppfpm::session::format_http_date;
using cppfpm::session::make_set_cookie;
using cppfpm::session::Settings;
using cppfpm::text::url_decode;
using cppfpm::text::url_encode;

TEST_CASE("cookie: finds a cookie in an RFC 6265 header", "[session]") {
  CHECK(find_cookie("PHPSESSID=abc", "PHPSESSID") == "abc");
  CHECK(find_cookie("a=1; PHPSESSID=abc; b=2", "PHPSESSID") == "abc");
  CHECK(find_cookie("a=1;PHPSESSID=abc;b=2", "PHPSESSID") == "abc");
  // PHP skips blanks before a name and keeps the value as sent.
  CHECK(find_cookie("  PHPSESSID=abc; b=2", "PHPSESSID") == "abc");
  CHECK(find_cookie("PHPSESSID= abc ; b=2", "PHPSESSID") == " abc ");
  CHECK(find_cookie("PHPSESSID =abc", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("a=1; b=2", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("PHPSESSID=", "PHPSESSID") == "");
  CHECK(find_cookie("x=PHPSESSID=abc", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("PHPSESSIDX=abc; PHPSESSI=def", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("phpsessid=abc", "PHPSESSID") == std::nullopt);  // names are case-sensitive
  CHECK(find_cookie("a=b=c", "a") == "b=c");
}

TEST_CASE("cookie: the first of two cookies with the name wins", "[session]") {
  CHECK(find_cookie("PHPSESSID=first; PHPSESSID=second", "PHPSESSID") == "first");
}

TEST_CASE("cookie: values are url-decoded like PHP's $_COOKIE", "[session]") {
  CHECK(find_cookie("PHPSESSID=a%2Cb", "PHPSESSID") == "a,b");
  CHECK(find_cookie("PHPSESSID=a+b", "PHPSESSID") == "a b");
  CHECK(find_cookie("PHPSESSID=abc%0d%0aSet-Cookie:%20x", "PHPSESSID") == "abc\r\nSet-Cookie: x");
  CHECK(find_cookie("PHPSESSID=%00", "PHPSESSID") == std::string(1, '\0'));
  CHECK(url_decode("%") == "%");
  CHECK(url_decode("%4") == "%4");
  CHECK(url_decode("%zz%41") == "%zzA");
  CHECK(url_decode("100%") == "100%");
}

TEST_CASE("cookie: hostile headers", "[session]") {
  CHECK(find_cookie(";;;;", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("=", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("=abc; =; ; PHPSESSID", "PHPSESSID") == std::nullopt);  // no '='
  CHECK(find_cookie("PHPSESSID", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie("PHPSESSID=\"abc\"", "PHPSESSID") == "\"abc\"");  // quotes are kept
  CHECK(find_cookie("\"PHPSESSID\"=abc", "PHPSESSID") == std::nullopt);
  CHECK(find_cookie(std::string_view("PHPSESSID=a\0b", 13), "PHPSESSID") == std::string("a\0b", 3));
  CHECK(find_cookie("PHPSESSID=abc", "") == std::nullopt);

  std::string huge(100 * 1024, 'x');
  CHECK(find_cookie(huge, "PHPSESSID") == std::nullopt);
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "c" + std::to_string(i) + "=v; ";
  CHECK(find_cookie(many + "PHPSESSID=last", "PHPSESSID") == "last");
  std::string semicolons(100 * 1024, ';');
  CHECK(find_cookie(semicolons, "PHPSESSID") == std::nullopt);
  std::string percents(100 * 1024, '%');
  CHECK(find_cookie("PHPSESSID=" + percents, "PHPSESSID")->size() == percents.size());
  std::string equals = "PHPSESSID" + std::string(100 * 1024, '=');
  CHECK(find_cookie(equals, "PHPSESSID")->size() == 100 * 1024 - 1);
}

TEST_CASE("cookie: url_encode is PHP's urlencode", "[session]") {
  CHECK(url_encode("abcXYZ019-_.") == "abcXYZ019-_.");
  CHECK(url_encode("a,b") == "a%2Cb");
  CHECK(url_encode("a b") == "a+b");
  CHECK(url_encode("\r\n;=") == "%0D%0A%3B%3D");
  CHECK(url_encode("\xff") == "%FF");
}

TEST_CASE("cookie: HTTP dates", "[session]") {
  CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format_http_date(375007920) == "Thu, 19 Nov 1981 08:52:00 GMT");
  CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(format_http_date(1795557203) == "Tue, 24 Nov 2026 21:53:23 GMT");
  CHECK(format_http_date(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
  CHECK(format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST_CASE("cookie: Set-Cookie by default is PHP's", "[session]") {
  Settings settings;
  CHECK(make_set_cookie("abcdefghijklmnopqrstuv0123", settings, 1700000000) ==
        "PHPSESSID=abcdefghijklmnopqrstuv0123; path=/");
}

TEST_CASE("cookie: Set-Cookie with every attribute, in PHP's order", "[session]") {
  Settings settings;
  settings.cookie_lifetime = 3600;
  settings.cookie_path = "/app";
  settings.cookie_domain = "example.com";
  settings.cookie_secure = true;
  settings.cookie_httponly = true;
  settings.cookie_samesite = "Strict";
  CHECK(make_set_cookie("abc", settings, 0) ==
        "PHPSESSID=abc; expires=Thu, 01 Jan 1970 01:00:00 GMT; Max-Age=3600; path=/app; "
        "domain=example.com; secure; HttpOnly; SameSite=Strict");
}

TEST_CASE("cookie: Set-Cookie attribute combinations", "[session]") {
  Settings settings;
  settings.cookie_path = "";
  CHECK(make_set_cookie("abc", settings, 0) == "PHPSESSID=abc");
  settings.cookie_httponly = true;
  CHECK(make_set_cookie("abc", settings, 0) == "PHPSESSID=abc; HttpOnly");
  settings.name = "SID";
  settings.cookie_samesite = "Lax";
  CHECK(make_set_cookie("abc", settings, 0) == "SID=abc; HttpOnly; SameSite=Lax");
  settings.cookie_lifetime = 86400;
  CHECK(make_set_cookie("abc", settings, 1795557203) ==
        "SID=abc; expires=Wed, 25 Nov 2026 21:53:23 GMT; Max-Age=86400; HttpOnly; SameSite=Lax");
}

TEST_CASE("cookie: Set-Cookie never carries a raw separator or line break", "[session]") {
  Settings settings;
  CHECK(make_set_cookie("a,b-c", settings, 0) == "PHPSESSID=a%2Cb-c; path=/");
  CHECK(make_set_cookie("x\r\nSet-Cookie: y", settings, 0) ==
        "PHPSESSID=x%0D%0ASet-Cookie%3A+y; path=/");
  settings.cookie_domain = "evil\r\nX-Injected: 1";
  CHECK(make_set_cookie("abc", settings, 0) == "PHPSESSID=abc; path=/; domain=evilX-Injected: 1");
  settings.cookie_domain.clear();
  settings.cookie_lifetime = std::numeric_limits<std::int64_t>::max();
  CHECK(make_set_cookie("abc", settings, 1700000000) == "PHPSESSID=abc; path=/");
}
