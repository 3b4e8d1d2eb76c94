#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "session/php_serialize.h"

using cppfpm::session::decode_session;
using cppfpm::session::encode_session;
using cppfpm::session::Format;
using cppfpm::session::format_double;
using cppfpm::session::PhpArray;
using cppfpm::session::PhpKey;
using cppfpm::session::PhpOpaque;
using cppfpm::session::PhpValue;
using cppfpm::session::serialize;
using cppfpm::session::unserialize;

namespace {

// The value PHP 8.2 stored for the seed's pages (DESIGN.md).
const std::string kSeedSession =
    "Itcys.top|i:1795618362;arr|a:4:{i:0;i:1;s:1:\"a\";d:2.5;s:1:\"n\";N;s:1:\"b\";b:1;}";

const std::string kObjects =
    "obj|O:8:\"stdClass\":2:{s:1:\"a\";i:1;s:1:\"b\";a:1:{i:0;O:3:\"Foo\":0:{}}}"
    "custom|C:11:\"ArrayObject\":21:{x:i:0;a:0:{};m:a:0:{}}"
    "enum|E:7:\"Foo:Bar\";"
    "ref|R:2;objref|r:3;"
    "str|s:11:\"a|b;c\"d}e:f\";"
    "next|i:2;";

std::string roundtrip(const std::string& data, Format format = Format::php) {
  auto vars = decode_session(data, format);
  REQUIRE(vars.has_value());
  return encode_session(*vars, format);
}

}  // namespace

TEST_CASE("php_serialize: the seed's session round-trips byte for byte", "[session]") {
  CHECK(roundtrip(kSeedSession) == kSeedSession);
  const auto vars = decode_session(kSeedSession, Format::php);
  REQUIRE(vars);
  CHECK(*vars->find("Itcys.top")->as_int() == 1795618362);
  const PhpArray& arr = *vars->find("arr")->as_array();
  CHECK(*arr.find(0)->as_int() == 1);
  CHECK(*arr.find("a")->as_double() == 2.5);
  CHECK(arr.find("n")->is_null());
  CHECK(*arr.find("b")->as_bool());
}

TEST_CASE("php_serialize: building the seed's session gives PHP's bytes", "[session]") {
  PhpArray arr;
  arr.append(1);
  arr.set("a", 2.5);
  arr.set("n", nullptr);
  arr.set("b", true);
  PhpArray vars;
  vars.set("Itcys.top", 1795618362);
  vars.set("arr", arr);
  CHECK(encode_session(vars, Format::php) == kSeedSession);
  PhpArray single;
  single.set("Itcys.top", 1795557203);
  CHECK(encode_session(single, Format::php) == "Itcys.top|i:1795557203;");
}

TEST_CASE("php_serialize: scalars", "[session]") {
  CHECK(serialize(PhpValue()) == "N;");
  CHECK(serialize(true) == "b:1;");
  CHECK(serialize(false) == "b:0;");
  CHECK(serialize(0) == "i:0;");
  CHECK(serialize(-5) == "i:-5;");
  CHECK(serialize(std::numeric_limits<std::int64_t>::max()) == "i:9223372036854775807;");
  CHECK(serialize(std::numeric_limits<std::int64_t>::min()) == "i:-9223372036854775808;");
  CHECK(serialize("") == "s:0:\"\";");
  CHECK(serialize("héllo") == "s:6:\"héllo\";");
  CHECK(serialize(std::string("a\0\"b", 4)) == std::string("s:4:\"a\0\"b\";", 11));
  CHECK(serialize(PhpArray()) == "a:0:{}");
  CHECK(serialize(PhpOpaque{"O:3:\"Foo\":0:{}"}) == "O:3:\"Foo\":0:{}");
}

TEST_CASE("php_serialize: floats as serialize_precision=-1 writes them", "[session]") {
  CHECK(format_double(2.5) == "2.5");
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(0.1 + 0.2) == "0.30000000000000004");
  CHECK(format_double(1.0) == "1");
  CHECK(format_double(-1.5) == "-1.5");
  CHECK(format_double(0.0) == "0");
  CHECK(format_double(-0.0) == "-0");
  CHECK(format_double(100.0) == "100");
  CHECK(format_double(1e15) == "1000000000000000");
  CHECK(format_double(1e16) == "10000000000000000");
  CHECK(format_double(1e17) == "1.0E+17");
  CHECK(format_double(1e25) == "1.0E+25");
  CHECK(format_double(123456789012345678.0) == "1.2345678901234568E+17");
  CHECK(format_double(1.5e300) == "1.5E+300");
  CHECK(format_double(0.0001) == "0.0001");
  CHECK(format_double(0.00012) == "0.00012");
  CHECK(format_double(0.00001) == "1.0E-5");
  CHECK(format_double(-1.25e-7) == "-1.25E-7");
  CHECK(format_double(5e-324) == "5.0E-324");  // shortest digits that read back to it
  CHECK(format_double(std::numeric_limits<double>::infinity()) == "INF");
  CHECK(format_double(-std::numeric_limits<double>::infinity()) == "-INF");
  CHECK(format_double(std::numeric_limits<double>::quiet_NaN()) == "NAN");
  CHECK(serialize(-0.0) == "d:-0;");
  CHECK(serialize(0.5) == "d:0.5;");
}

TEST_CASE("php_serialize: floats read back to the same double", "[session]") {
  for (double d : {0.1, 2.5, 1e25, 1e-5, -0.0, 123456789012345678.0, 5e-324, 1.7976931348623157e308,
                   3.141592653589793, -2.2250738585072014e-308}) {
    CAPTURE(d);
    const auto back = unserialize(serialize(d));
    REQUIRE(back);
    REQUIRE(back->as_double());
    CHECK(*back->as_double() == d);
    CHECK(std::signbit(*back->as_double()) == std::signbit(d));
  }
  CHECK(std::isnan(*unserialize("d:NAN;")->as_double()));
  CHECK(*unserialize("d:INF;")->as_double() == std::numeric_limits<double>::infinity());
  CHECK(*unserialize("d:-INF;")->as_double() == -std::numeric_limits<double>::infinity());
  CHECK(*unserialize("d:+1.5;")->as_double() == 1.5);
  CHECK(*unserialize("d:1.;")->as_double() == 1.0);
  CHECK(*unserialize("d:.5;")->as_double() == 0.5);
  CHECK(*unserialize("d:1e3;")->as_double() == 1000.0);
  CHECK(*unserialize("d:1.0E-5;")->as_double() == 1e-5);
  CHECK(*unserialize("d:1e400;")->as_double() == std::numeric_limits<double>::infinity());
  CHECK(*unserialize("d:-1e400;")->as_double() == -std::numeric_limits<double>::infinity());
  CHECK(*unserialize("d:1e-400;")->as_double() == 0.0);
  CHECK(*unserialize("d:7;")->as_double() == 7.0);
}

TEST_CASE("php_serialize: integers as PHP reads them", "[session]") {
  CHECK(*unserialize("i:+5;")->as_int() == 5);
  CHECK(*unserialize("i:-0;")->as_int() == 0);
  CHECK(*unserialize("i:007;")->as_int() == 7);
  CHECK(*unserialize("i:-9223372036854775808;")->as_int() ==
        std::numeric_limits<std::int64_t>::min());
  // Out of range: PHP warns and clamps.
  CHECK(*unserialize("i:9223372036854775808;")->as_int() ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(*unserialize("i:-99999999999999999999999;")->as_int() ==
        std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("php_serialize: strings are length-delimited bytes", "[session]") {
  CHECK(*unserialize("s:5:\"a\"b\"c\";")->as_string() == "a\"b\"c");
  CHECK(*unserialize(std::string("s:3:\"\0;}\";", 10))->as_string() == std::string("\0;}", 3));
  CHECK(*unserialize("S:3:\"a\\41b\";")->as_string() == "aAb");
  CHECK_FALSE(unserialize("S:3:\"a\\4\";"));
  CHECK_FALSE(unserialize("S:3:\"a\\zzb\";"));
}

TEST_CASE("php_serialize: array keys follow PHP's rules", "[session]") {
  const auto value = unserialize("a:3:{s:1:\"5\";i:1;s:2:\"05\";i:2;i:-1;i:3;}");
  REQUIRE(value);
  const PhpArray& array = *value->as_array();
  CHECK(array.find_key(std::int64_t{5}) != nullptr);
  CHECK(array.find_key(std::string("05")) != nullptr);
  CHECK(serialize(*value) == "a:3:{i:5;i:1;s:2:\"05\";i:2;i:-1;i:3;}");
  // A repeated key replaces the value and keeps the first position.
  CHECK(serialize(*unserialize("a:2:{s:1:\"k\";i:1;s:1:\"k\";i:2;}")) == "a:1:{s:1:\"k\";i:2;}");
}

TEST_CASE("php_serialize: objects and references stay opaque and keep later keys", "[session]") {
  CHECK(roundtrip(kObjects) == kObjects);
  const auto vars = decode_session(kObjects, Format::php);
  REQUIRE(vars);
  CHECK(vars->find("obj")->as_opaque()->serialized ==
        "O:8:\"stdClass\":2:{s:1:\"a\";i:1;s:1:\"b\";a:1:{i:0;O:3:\"Foo\":0:{}}}");
  CHECK(vars->find("custom")->as_opaque()->serialized ==
        "C:11:\"ArrayObject\":21:{x:i:0;a:0:{};m:a:0:{}}");
  CHECK(vars->find("enum")->as_opaque()->serialized == "E:7:\"Foo:Bar\";");
  CHECK(vars->find("ref")->as_opaque()->serialized == "R:2;");
  CHECK(vars->find("objref")->as_opaque()->serialized == "r:3;");
  CHECK(*vars->find("str")->as_string() == "a|b;c\"d}e:f");
  CHECK(*vars->find("next")->as_int() == 2);
}

TEST_CASE("php_serialize: the php_serialize handler", "[session]") {
  const std::string data = "a:2:{s:9:\"Itcys.top\";i:1795618362;s:3:\"arr\";a:1:{i:0;b:0;}}";
  CHECK(roundtrip(data, Format::php_serialize) == data);
  CHECK(roundtrip("", Format::php_serialize).empty());
  CHECK(encode_session(PhpArray(), Format::php_serialize).empty());
  CHECK_FALSE(decode_session("i:1;", Format::php_serialize));
  CHECK_FALSE(decode_session("a:1:{i:0;", Format::php_serialize));
  PhpArray vars;
  vars.set(3, "int keys are fine here");
  CHECK(encode_session(vars, Format::php_serialize) ==
        "a:1:{i:3;s:22:\"int keys are fine here\";}");
}

TEST_CASE("php_serialize: php handler names", "[session]") {
  CHECK(roundtrip("").empty());
  CHECK(roundtrip("5|i:1;") == "5|i:1;");  // top-level names stay strings
  CHECK(roundtrip("|i:1;") == "|i:1;");
  CHECK(roundtrip("a|i:1;a|i:2;") == "a|i:2;");
  PhpArray vars;
  vars.set("ok", 1);
  vars.set(7, 2);      // PHP skips integer keys
  vars.set("a|b", 3);  // cannot be written in this format
  vars.set("also ok", 4);
  CHECK(encode_session(vars, Format::php) == "ok|i:1;also ok|i:4;");
}

TEST_CASE("php_serialize: malformed input is refused", "[session]") {
  for (const std::string& bad : std::vector<std::string>{"a",
                                                         "a|",
                                                         "a|i:;",
                                                         "a|i:1",
                                                         "a|i:1;b",
                                                         "a|i:1;b|",
                                                         "a|N",
                                                         "a|b:2;",
                                                         "a|b:;",
                                                         "a|d:;",
                                                         "a|d:.;",
                                                         "a|d:1e;",
                                                         "a|d:e5;",
                                                         "a|d:1.5",
                                                         "a|d:nan;",
                                                         "a|x:1;",
                                                         "a|s:5:\"abc\";",
                                                         "a|s:-1:\"\";",
                                                         "a|s:3:\"abc\"",
                                                         "a|s:3:abc;",
                                                         "a|s:99999999999999999999999:\"x\";",
                                                         "a|s:18446744073709551615:\"x\";",
                                                         "a|a:1:{i:0;}",
                                                         "a|a:2:{i:0;i:1;}",
                                                         "a|a:1:{N;i:1;}",
                                                         "a|a:1:{d:1.5;i:1;}",
                                                         "a|a:1:{b:1;i:1;}",
                                                         "a|a:1:{a:0:{}i:1;}",
                                                         "a|a:0:{",
                                                         "a|a:0:}",
                                                         "a|a:99999999:{}",
                                                         "a|O:3:\"Foo\":1:{}",
                                                         "a|O:0:\"\":0:{}",
                                                         "a|O:3:\"Foo\":0:{",
                                                         "a|C:3:\"Foo\":5:{ab}",
                                                         "a|C:3:\"Foo\":2:{ab",
                                                         "a|E:3:\"Foo\";",
                                                         "a|r:;",
                                                         "a|R:x;",
                                                         "a|i:1;;",
                                                         std::string("a|i:1;\0", 7)}) {
    CAPTURE(bad);
    CHECK_FALSE(decode_session(bad, Format::php));
  }
  CHECK_FALSE(unserialize(""));
  CHECK_FALSE(unserialize("N;junk"));
  std::size_t used = 0;
  CHECK(unserialize("N;junk", &used));
  CHECK(used == 2);
}

TEST_CASE("php_serialize: nesting depth is bounded", "[session]") {
  auto nested = [](int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "a:1:{i:0;";
    s += "N;";
    for (int i = 0; i < depth; ++i) s += "}";
    return "x|" + s;
  };
  CHECK(decode_session(nested(200), Format::php));
  CHECK_FALSE(decode_session(nested(100000), Format::php));
  std::string objects = "x|";
  for (int i = 0; i < 100000; ++i) objects += "O:1:\"A\":1:{i:0;";
  CHECK_FALSE(decode_session(objects, Format::php));
}

TEST_CASE("php_serialize: every truncation decodes or fails cleanly", "[session]") {
  const std::string full = kSeedSession + kObjects + "d|d:-1.5E-7;nested|a:1:{s:1:\"k\";a:0:{}}";
  REQUIRE(decode_session(full, Format::php));
  for (std::size_t n = 0; n <= full.size(); ++n) {
    // A copy of exactly n bytes, so reading past it is an error tools can see.
    const std::string prefix = full.substr(0, n);
    const auto vars = decode_session(prefix, Format::php);
    if (vars) CHECK(encode_session(*vars, Format::php) == prefix);
  }
}

TEST_CASE("php_serialize: every single-byte corruption decodes or fails cleanly", "[session]") {
  const std::string full = kSeedSession + kObjects;
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (char c : {'\0', '9', ':', ';', '"', '{', '}', '|', 'a', 'O', '-', 'x'}) {
      std::string mutated = full;
      mutated[i] = c;
      (void)decode_session(mutated, Format::php);
      (void)decode_session(mutated.substr(full.find('|') + 1), Format::php_serialize);
    }
  }
  SUCCEED();
}
