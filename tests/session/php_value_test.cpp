#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "session/php_value.h"

using cppfpm::session::normalize_key;
using cppfpm::session::PhpArray;
using cppfpm::session::PhpKey;
using cppfpm::session::PhpOpaque;
using cppfpm::session::PhpValue;

namespace {

std::vector<PhpKey> keys_of(const PhpArray& array) {
  std::vector<PhpKey> keys;
  for (const auto& entry : array) keys.push_back(entry.key);
  return keys;
}

}  // namespace

TEST_CASE("php_value: numeric string keys become integer keys as in PHP", "[session]") {
  CHECK(normalize_key("5") == PhpKey(std::int64_t{5}));
  CHECK(normalize_key("0") == PhpKey(std::int64_t{0}));
  CHECK(normalize_key("-3") == PhpKey(std::int64_t{-3}));
  CHECK(normalize_key("9223372036854775807") == PhpKey(std::numeric_limits<std::int64_t>::max()));
  CHECK(normalize_key("-9223372036854775808") == PhpKey(std::numeric_limits<std::int64_t>::min()));
  for (const char* text : {"05", "-0", "+5", " 5", "5 ", "", "-", "1e3", "1.5", "abc", "0x1A",
                           "9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
    CAPTURE(text);
    CHECK(normalize_key(text) == PhpKey(std::string(text)));
  }
}

TEST_CASE("php_value: values know their type", "[session]") {
  CHECK(PhpValue().is_null());
  CHECK(PhpValue(nullptr).type() == PhpValue::Type::null);
  CHECK(*PhpValue(true).as_bool());
  CHECK(*PhpValue(42).as_int() == 42);
  CHECK(*PhpValue(std::int64_t{-7}).as_int() == -7);
  CHECK(*PhpValue(2.5).as_double() == 2.5);
  CHECK(*PhpValue("text").as_string() == "text");
  CHECK(*PhpValue(std::string("a\0b", 3)).as_string() == std::string("a\0b", 3));
  CHECK(PhpValue(PhpArray()).as_array()->empty());
  CHECK(PhpValue(PhpOpaque{"r:1;"}).as_opaque()->serialized == "r:1;");
  CHECK(PhpValue(1).as_string() == nullptr);
  CHECK(PhpValue("1").as_int() == nullptr);
  CHECK(PhpValue(1) != PhpValue(1.0));
  CHECK(PhpValue(1) != PhpValue(true));
  CHECK(PhpValue("a") == PhpValue(std::string("a")));
}

TEST_CASE("php_value: arrays keep insertion order and replace in place", "[session]") {
  PhpArray array;
  array.set("b", 1);
  array.set("a", 2);
  array.set(10, 3);
  array.set("b", 4);  // replaces, keeps its place
  REQUIRE(array.size() == 3);
  CHECK(keys_of(array) ==
        std::vector<PhpKey>{std::string("b"), std::string("a"), std::int64_t{10}});
  CHECK(*array.find("b")->as_int() == 4);
  CHECK(*array.find(10)->as_int() == 3);
  CHECK(*array.find("10")->as_int() == 3);  // "10" is the key 10
  CHECK(array.find("x") == nullptr);
  CHECK(array.contains("a"));
}

TEST_CASE("php_value: append uses the next integer key", "[session]") {
  PhpArray array;
  CHECK(array.append("zero"));
  array.set("k", 1);
  array.set(7, "seven");
  CHECK(array.append("eight"));
  array.set(3, "three");
  CHECK(array.append("nine"));
  CHECK(*array.find(0)->as_string() == "zero");
  CHECK(*array.find(8)->as_string() == "eight");
  CHECK(*array.find(9)->as_string() == "nine");
  array.set(std::numeric_limits<std::int64_t>::max(), 1);
  CHECK_FALSE(array.append(2));  // PHP: "next element is already occupied"
}

TEST_CASE("php_value: erase and exact keys", "[session]") {
  PhpArray array;
  array.set("a", 1);
  array.set("b", 2);
  array.set("c", 3);
  CHECK(array.erase("b"));
  CHECK_FALSE(array.erase("b"));
  CHECK(keys_of(array) == std::vector<PhpKey>{std::string("a"), std::string("c")});
  CHECK(*array.find("c")->as_int() == 3);

  // set_key does not normalize: "5" and 5 are two keys.
  array.set_key(std::string("5"), "string five");
  array.set(5, "int five");
  CHECK(array.size() == 4);
  CHECK(*array.find_key(std::string("5"))->as_string() == "string five");
  CHECK(*array.find(5)->as_string() == "int five");
  array.clear();
  CHECK(array.empty());
  CHECK(array.append(1));
  CHECK(array.find(0) != nullptr);
}

TEST_CASE("php_value: nested arrays are values and can be changed in place", "[session]") {
  PhpArray inner;
  inner.append(1);
  PhpArray outer;
  outer.set("inner", inner);
  PhpArray copy = outer;
  outer.find("inner")->as_array()->append(2);
  CHECK(outer.find("inner")->as_array()->size() == 2);
  CHECK(copy.find("inner")->as_array()->size() == 1);  // deep copy
  CHECK_FALSE(copy == outer);
}
