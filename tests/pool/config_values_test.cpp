#include <catch2/catch.hpp>

#include <map>

#include "pool/config_values.h"

using namespace cppfpm::pool;
using namespace std::chrono_literals;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    return found->second;
  };
}

std::string decoded(std::string_view raw) {
  Parsed<std::string> result = decode_value(raw, fake_env({{"HOME", "/home/x"}, {"EMPTY", ""}}));
  INFO(raw << " -> " << result.error);
  REQUIRE(result.ok());
  return result.value;
}

std::string decode_error(std::string_view raw) {
  Parsed<std::string> result = decode_value(raw, fake_env({}));
  REQUIRE_FALSE(result.ok());
  return result.error;
}

}  // namespace

TEST_CASE("config: value extent stops at a ';' outside quotes") {
  CHECK(find_value_extent("10s; comment").end == 3);
  CHECK(find_value_extent("\"a;b\" ; c").end == 6);
  CHECK(find_value_extent("'a;b';c").end == 5);
  CHECK(find_value_extent("\"a\\\";b\";").end == 7);
  CHECK(find_value_extent("plain").end == 5);
  CHECK(find_value_extent("\"open;").unterminated_quote);
  CHECK(find_value_extent("'open").unterminated_quote);
  CHECK_FALSE(find_value_extent("it's; ok'").unterminated_quote);
}

TEST_CASE("config: values are unquoted as PHP's ini scanner does") {
  CHECK(decoded("plain text") == "plain text");
  CHECK(decoded("\"  spaced  \"") == "  spaced  ");
  CHECK(decoded("\"%R - %u \\\"%m %r\\\" %s\"") == "%R - %u \"%m %r\" %s");
  CHECK(decoded("\"back\\\\slash \\n kept\"") == "back\\slash \\n kept");
  CHECK(decoded("'raw ${HOME} \\\"'") == "raw ${HOME} \\\"");
  CHECK(decoded("\"a\" 'b' c") == "a b c");
  CHECK(decoded("\"\"") == "");
  CHECK(decoded("").empty());
}

TEST_CASE("config: ${ENV} is expanded outside single quotes") {
  CHECK(decoded("${HOME}/run") == "/home/x/run");
  CHECK(decoded("\"${HOME}\"") == "/home/x");
  CHECK(decoded("\"\\${HOME}\"") == "${HOME}");
  CHECK(decoded("x${EMPTY}y") == "xy");
  CHECK(decoded("${MISSING:-fallback}") == "fallback");
  CHECK(decoded("${HOME:-fallback}") == "/home/x");
  CHECK(decoded("$HOME and $pool stay") == "$HOME and $pool stay");
  CHECK_THAT(decode_error("${MISSING}"), Catch::Contains("MISSING") && Catch::Contains("not set"));
  CHECK_THAT(decode_error("${HOME"), Catch::Contains("closing '}'"));
  CHECK_THAT(decode_error("${}"), Catch::Contains("bad variable"));
  CHECK_THAT(decode_error("${A B}"), Catch::Contains("bad variable"));
  CHECK_THAT(decode_error("\"open"), Catch::Contains("unterminated"));
}

TEST_CASE("config: $pool is replaced by the pool name") {
  CHECK(substitute_pool_name("/run/$pool.sock", "www") == "/run/www.sock");
  CHECK(substitute_pool_name("$pool-$pool", "a") == "a-a");
  CHECK(substitute_pool_name("no token", "a") == "no token");
}

TEST_CASE("config: booleans") {
  for (const char* yes : {"yes", "YES", "on", "true", "True", "1"}) {
    INFO(yes);
    CHECK(parse_bool(yes).ok());
    CHECK(parse_bool(yes).value);
  }
  for (const char* no : {"no", "off", "false", "0", "Off"}) {
    INFO(no);
    CHECK(parse_bool(no).ok());
    CHECK_FALSE(parse_bool(no).value);
  }
  CHECK_FALSE(parse_bool("maybe").ok());
  CHECK_FALSE(parse_bool("").ok());
  CHECK_FALSE(parse_bool("2").ok());
}

TEST_CASE("config: whole numbers") {
  CHECK(parse_integer("42").value == 42);
  CHECK(parse_integer("-1").value == -1);
  CHECK(parse_integer(" 7 ").value == 7);
  CHECK_FALSE(parse_integer("").ok());
  CHECK_FALSE(parse_integer("12abc").ok());
  CHECK_FALSE(parse_integer("1.5").ok());
  CHECK_FALSE(parse_integer("+3").ok());
  CHECK(parse_integer("99999999999999999999").error == "is too large");
}

TEST_CASE("config: durations take php-fpm's units, bare numbers are seconds") {
  CHECK(parse_duration("30").value == 30s);
  CHECK(parse_duration("30s").value == 30s);
  CHECK(parse_duration("5m").value == 5min);
  CHECK(parse_duration("1h").value == 1h);
  CHECK(parse_duration("1d").value == 24h);
  CHECK(parse_duration("250ms").value == 250ms);
  CHECK(parse_duration("0").value == 0s);
  CHECK_FALSE(parse_duration("5x").ok());
  CHECK_FALSE(parse_duration("s").ok());
  CHECK_FALSE(parse_duration("-5s").ok());
  CHECK_FALSE(parse_duration("1.5s").ok());
  CHECK_FALSE(parse_duration("5 m").ok());
  CHECK_FALSE(parse_duration("99999999999999d").ok());
}

TEST_CASE("config: sizes take K, M and G") {
  CHECK(parse_size("512").value == 512);
  CHECK(parse_size("512K").value == 512u * 1024);
  CHECK(parse_size("64M").value == 64u * 1024 * 1024);
  CHECK(parse_size("1G").value == 1024u * 1024 * 1024);
  CHECK(parse_size("2g").value == 2ull * 1024 * 1024 * 1024);
  CHECK_FALSE(parse_size("64MB").ok());
  CHECK_FALSE(parse_size("M").ok());
  CHECK_FALSE(parse_size("12T").ok());
  CHECK_FALSE(parse_size("-1").ok());
  CHECK_FALSE(parse_size("99999999999999999999G").ok());
}

TEST_CASE("config: lists are split and trimmed") {
  CHECK(split_list(" 127.0.0.1 , ::1,,", ',') == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(split_list("", ',').empty());
}
