#include <catch2/catch.hpp>

#include <string>

#include "server/text/html.h"
#include "server/text/strings.h"
#include "server/text/url.h"

using namespace cppfpm::text;

// php > echo urldecode(...), rawurldecode(...), htmlspecialchars(...)
TEST_CASE("text: url_decode is PHP's urldecode, or rawurldecode", "[text]") {
  CHECK(url_decode("a+b%20c") == "a b c");
  CHECK(url_decode("a+b%20c", Plus::keep) == "a+b c");
  CHECK(url_decode("%41%4a%4A") == "AJJ");
  CHECK(url_decode("%") == "%");
  CHECK(url_decode("%4") == "%4");
  CHECK(url_decode("%zz%41") == "%zzA");
  CHECK(url_decode("100%") == "100%");
  CHECK(url_decode("%00") == std::string(1, '\0'));
  CHECK(url_decode("%%41") == "%A");
}

TEST_CASE("text: url_encode is PHP's urlencode", "[text]") {
  CHECK(url_encode("abcXYZ019-_.") == "abcXYZ019-_.");
  CHECK(url_encode("a b,~") == "a+b%2C%7E");
  CHECK(url_decode(url_encode("\r\n\xff ")) == "\r\n\xff ");
}

TEST_CASE("text: html_escape is htmlspecialchars", "[text]") {
  CHECK(html_escape("<a href=\"x\">'&'</a>", Quotes::both) ==
        "&lt;a href=&quot;x&quot;&gt;&#039;&amp;&#039;&lt;/a&gt;");
  CHECK(html_escape("<a href=\"x\">'&'</a>", Quotes::compat) ==
        "&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;");
  CHECK(html_escape("&amp;", Quotes::compat) == "&amp;amp;");  // double_encode on
  CHECK(html_escape("\xe4\xb8\xad", Quotes::both) == "\xe4\xb8\xad");
}

TEST_CASE("text: trim, lower, all_digits", "[text]") {
  CHECK(trim(" \t\r\n\v\fa b \t\r\n\v\f") == "a b");
  CHECK(trim("   ") == "");
  CHECK(trim_start("  a  ") == "a  ");
  CHECK(lower("MiXeD-9_\xc3\x84") == "mixed-9_\xc3\x84");  // ASCII only
  CHECK(all_digits("0123456789"));
  CHECK_FALSE(all_digits(""));
  CHECK_FALSE(all_digits("12a"));
  CHECK_FALSE(all_digits("-1"));
  CHECK_FALSE(all_digits(" 1"));
}
