// The cached value format (sql/result_codec.h): round trips, and garbage
// decodes to "no result" instead of a crash or a wrong answer.
#include <catch2/catch.hpp>

#include "sql/result_codec.h"

using namespace cppfpm::sql;

namespace {

ResultSet sample() {
  ResultSet r;
  r.columns = {"id", "name", "price", "note"};
  r.rows.push_back({"1", "nginx t-shirt", "19.90", std::nullopt});
  r.rows.push_back({"2", "", "0.00", std::string("bin\0ary\xff", 8)});
  r.rows.push_back({"3", "缓存 notebook", std::nullopt, std::string(300, 'z')});
  return r;
}

}  // namespace

TEST_CASE("result codec: round trips") {
  for (const ResultSet& r : {ResultSet{}, ResultSet{{"a"}, {}}, ResultSet{{"a"}, {{std::nullopt}}},
                             ResultSet{{"a"}, {{""}}}, sample()}) {
    auto bytes = encode_result(r);
    auto back = decode_result(bytes);
    REQUIRE(back);
    CHECK(*back == r);
  }
  ResultSet many;
  many.columns = {"n"};
  for (int i = 0; i < 20000; ++i) many.rows.push_back({std::to_string(i)});
  CHECK(decode_result(encode_result(many)) == many);
}

TEST_CASE("result codec: compact") {
  ResultSet r{{"id", "name"}, {{"3", "MariaDB hoodie"}}};
  // version, 2 column counts/lengths, names, row count, 2 cell lengths, values
  CHECK(encode_result(r).size() == 1 + 1 + 3 + 5 + 1 + 2 + 1 + 14);
}

TEST_CASE("result codec: NULL and the empty string stay apart") {
  ResultSet r{{"a", "b"}, {{std::nullopt, ""}}};
  auto back = decode_result(encode_result(r));
  REQUIRE(back);
  CHECK_FALSE((*back).rows[0][0].has_value());
  CHECK((*back).rows[0][1] == std::string());
}

TEST_CASE("result codec: every truncation, trailing bytes and other versions are refused") {
  auto bytes = encode_result(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("truncated to " << n);
    CHECK_FALSE(decode_result(bytes.substr(0, n)));
  }
  CHECK_FALSE(decode_result(bytes + "x"));
  std::string other = bytes;
  other[0] = 2;
  CHECK_FALSE(decode_result(other));
  CHECK_FALSE(decode_result("PHP serialized junk"));
}

TEST_CASE("result codec: huge counts in a small value are refused without allocating them") {
  std::string bytes = "\x01";
  bytes += "\xff\xff\xff\xff\xff\xff\xff\xff\x7f";  // 2^63-ish columns
  CHECK_FALSE(decode_result(bytes));
  std::string rows =
      "\x01\x01\x01"
      "a"
      "\xff\xff\xff\xff\x0f";  // 1 column, 4 G rows
  CHECK_FALSE(decode_result(rows));
  std::string overlong = "\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01";
  CHECK_FALSE(decode_result(overlong));
}
