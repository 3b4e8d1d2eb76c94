#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "server/text/query_string.h"

using cppfpm::text::parse_query_string;
using cppfpm::text::QueryLimits;
using cppfpm::text::QueryValue;

namespace {

// "path=hex(value)" lines, one per string, "path=[]" for an empty array;
// the same walk is done in PHP below, so both sides print alike.
void dump(const QueryValue& value, const std::string& path, std::string& out) {
  if (!value.is_array()) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += path + "=";
    for (unsigned char c : value.text()) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    out += "\n";
    return;
  }
  if (value.entries().empty() && !path.empty()) out += path + "=[]\n";
  for (const auto& [key, element] : value.entries()) dump(element, path + "[" + key + "]", out);
}

std::string dump(std::string_view query) {
  std::string out;
  dump(parse_query_string(query), "", out);
  return out;
}

// PHP's parse_str() fills its array with the same treat_data as $_GET.
std::optional<std::string> php_dump(const std::string& query) {
  static const bool have_php = std::system("php -v >/dev/null 2>&1") == 0;
  if (!have_php) return std::nullopt;
  std::string hex;
  for (unsigned char c : query) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  const std::string command =
      "php -n -r 'function d($v, $p) { if (!is_array($v)) { echo $p, \"=\", bin2hex($v), "
      "\"\\n\"; return; } if (!$v && $p !== \"\") echo $p, \"=[]\\n\"; foreach ($v as $k => $e) "
      "d($e, $p . \"[\" . $k . \"]\"); } parse_str(hex2bin($argv[1]), $r); d($r, \"\");' " +
      (hex.empty() ? std::string("''") : hex) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
  return out;
}

}  // namespace

// Values read off PHP 8.2's parse_str()/$_GET (php-src main/php_variables.c).
TEST_CASE("query string: PHP's $_GET rules", "[text]") {
  auto q = parse_query_string("a=1&a=2");
  CHECK(q.string_at("a") == "2");  // the last of repeated plain keys wins

  q = parse_query_string("a+b=c%20d");
  CHECK(q.string_at("a_b") == "c d");  // '+' is a space, and a space in a name is '_'
  CHECK(parse_query_string("a.b=1").string_at("a_b") == "1");
  CHECK(parse_query_string(" x=1").string_at("x") == "1");  // leading spaces dropped

  q = parse_query_string("a[]=1&a[]=2");
  REQUIRE(q.find("a") != nullptr);
  REQUIRE(q.find("a")->is_array());
  CHECK(q.find("a")->string_at("0") == "1");
  CHECK(q.find("a")->string_at("1") == "2");
  CHECK_FALSE(q.string_at("a"));  // an array is not a string

  q = parse_query_string("a[x]=1&a[y]=2");
  CHECK(q.find("a")->string_at("x") == "1");
  CHECK(q.find("a")->string_at("y") == "2");

  CHECK(dump("=1&b") == "[b]=\n");            // empty names are skipped
  CHECK(dump("%20=1&[a]=1") == "");           // so are names that are only a space or '['
  CHECK(dump("%zz=%2") == "[%zz]=2532\n");    // a bad escape stays as written
  CHECK(dump("a%5B%5D=1") == "[a][0]=31\n");  // brackets may be encoded
  CHECK(dump("a[b=1") == "[a_b]=31\n");       // an unclosed '[' joins the name
  CHECK(dump("a[b[c.d=1") == "[a_b_c_d]=31\n");
  CHECK(dump("a[b]c=1") == "[a][b]=31\n");  // text after ']' is ignored
  CHECK(dump("a[b][c=1") == "[a][b]=31\n");
  CHECK(dump("a]=1") == "[a]]=31\n");
  CHECK(dump("a..b[c.d]=1") == "[a__b][c.d]=31\n");  // indexes keep their dots
  CHECK(dump("a[ b]=1") == "[a][ b]=31\n");
  CHECK(dump("x%00y=1&c=x%00y") == "[x]=31\n[c]=780079\n");  // names end at NUL, values do not
  CHECK(dump("&&a=1&&") == "[a]=31\n");
  CHECK(dump("a[]") == "[a][0]=\n");
}

TEST_CASE("query string: arrays as PHP builds them", "[text]") {
  CHECK(dump("a[5]=x&a[]=y") == "[a][5]=78\n[a][6]=79\n");
  CHECK(dump("a[-5]=x&a[]=y") == "[a][-5]=78\n[a][-4]=79\n");
  CHECK(dump("a[01]=1&a[]=2") == "[a][01]=31\n[a][0]=32\n");  // "01" is not an integer key
  CHECK(dump("a[-0]=x&a[]=y") == "[a][-0]=78\n[a][0]=79\n");
  CHECK(dump("a[9223372036854775807]=1&a[]=2") == "[a][9223372036854775807]=31\n");
  CHECK(dump("a[b][c]=1&a[b][]=2") == "[a][b][c]=31\n[a][b][0]=32\n");
  CHECK(dump("a=1&a[]=2") == "[a][0]=32\n");  // a string becomes an array in its place
  CHECK(dump("a[]=1&a=2") == "[a]=32\n");
  CHECK(dump("a[x]=1&a[x][]=2&a[x]=3") == "[a][x]=33\n");
  CHECK(dump("a[][x]=1&a[][x]=2") == "[a][0][x]=31\n[a][1][x]=32\n");
  CHECK(dump("a=1&b=2&a=3") == "[a]=33\n[b]=32\n");  // a key keeps its first place
}

TEST_CASE("query string: PHP's input limits", "[text]") {
  std::string deep = "b=2&a";
  for (int i = 0; i < 64; ++i) deep += "[x]";
  CHECK(parse_query_string(deep + "=1").find("a") != nullptr);
  // One level more and PHP removes the whole variable, even an earlier one.
  CHECK(parse_query_string("a=0&" + deep + "[x]=1").find("a") == nullptr);
  CHECK(parse_query_string(deep + "[x]=1").string_at("b") == "2");

  std::string many;
  for (int i = 1; i <= 1005; ++i) many += "v=" + std::to_string(i) + "&";
  CHECK(parse_query_string(many).string_at("v") == "1000");  // max_input_vars
  CHECK(parse_query_string(many, QueryLimits{2000, 64}).string_at("v") == "1005");
}

TEST_CASE("query string: hostile input stays bounded", "[text]") {
  CHECK(dump(std::string(100 * 1024, '&')) == "");
  CHECK(dump(std::string(100 * 1024, '[')) == "");
  std::string brackets = "a" + std::string(50 * 1024, '[') + "=1";
  CHECK(parse_query_string(brackets).string_at("a_" + std::string(50 * 1024 - 1, '_')) == "1");
  CHECK(parse_query_string("a" + std::string(50 * 1024, ']') + "=1")
            .find("a" + std::string(50 * 1024, ']')));
  std::string percents(100 * 1024, '%');
  CHECK(parse_query_string("a=" + percents).string_at("a")->size() == percents.size());
}

TEST_CASE("query string: agrees with the installed PHP", "[text][php]") {
  const std::vector<std::string> queries = {"a=1&a=2",
                                            "a+b=c%20d",
                                            "a.b=1",
                                            "a[]=1&a[]=2",
                                            "a[x]=1&a[y]=2",
                                            "=1&b",
                                            "a[b=1",
                                            "a[b[c=1",
                                            "a[5]=x&a[]=y",
                                            "a[-5]=x&a[]=y",
                                            "%zz=%2",
                                            "a%5B%5D=1",
                                            " x=1",
                                            "a[ b]=1",
                                            "a[b]c=1",
                                            "a[b][c]=1&a[b][]=2",
                                            "a=1&a[]=2",
                                            "a[]=1&a=2",
                                            "a[01]=1&a[]=2",
                                            "x%00y=1&c=%00",
                                            "a..b[c.d]=1",
                                            "&&a=1&&",
                                            "a[=1",
                                            "a]=1",
                                            "[a]=1",
                                            "a[][x]=1&a[][x]=2",
                                            "a[b][c.d",
                                            "a[-0]=x&a[]=y",
                                            "id=7&PHPSESSID=abc%2Cdef&full&json",
                                            "%E4%B8%AD=%FF",
                                            "a[]&a[]=",
                                            "a[1]=x&a[9223372036854775808]=y&a[]=z",
                                            "a[x]=1&a[x][]=2&a[x]=3",
                                            ""};
  for (const std::string& query : queries) {
    const auto expected = php_dump(query);
    if (!expected) {
      WARN("php is not installed: the cross-check against PHP is skipped");
      return;
    }
    INFO("query: " << query);
    CHECK(dump(query) == *expected);
  }
}
