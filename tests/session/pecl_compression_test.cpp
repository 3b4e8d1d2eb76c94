// pecl-memcache's compressed session values: zlib streams with flag 2.
#include <catch2/catch.hpp>

#include <random>

#include "session/pecl_compression.h"

using namespace cppfpm::session;

namespace {

std::string random_bytes(std::size_t n) {
  std::mt19937 gen(42);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

}  // namespace

TEST_CASE("pecl compression: a large repetitive session is compressed and inflates to itself",
          "[session][compression]") {
  std::string value = "big|s:36000:\"";
  for (int i = 0; i < 3000; ++i) value += "hello world ";
  value += "\";";
  auto compressed = pecl_compress(value);
  REQUIRE(compressed);
  CHECK(compressed->size() < value.size() / 5);
  CHECK(static_cast<unsigned char>((*compressed)[0]) == 0x78);  // a zlib header, as PHP writes
  auto inflated = pecl_uncompress(*compressed, 1 << 20);
  REQUIRE(inflated);
  CHECK(*inflated == value);
}

TEST_CASE("pecl compression: below the threshold, or saving under 20 %, the value stays plain",
          "[session][compression]") {
  CHECK_FALSE(pecl_compress(std::string(19999, 'a')));
  CHECK(pecl_compress(std::string(20000, 'a')));
  CHECK_FALSE(pecl_compress(random_bytes(50000)));         // incompressible
  CHECK_FALSE(pecl_compress(std::string(50000, 'a'), 0));  // 0: never
}

TEST_CASE("pecl compression: broken or hostile streams are refused, never crash",
          "[session][compression]") {
  std::string value(100000, 'x');
  auto compressed = pecl_compress(value);
  REQUIRE(compressed);
  CHECK_FALSE(pecl_uncompress("", 1 << 20));
  CHECK_FALSE(pecl_uncompress("Itcys.top|i:1795557203;", 1 << 20));  // plain, not zlib
  CHECK_FALSE(
      pecl_uncompress(compressed->substr(0, compressed->size() / 2), 1 << 20));  // truncated
  std::string flipped = *compressed;
  flipped.back() ^= 0x55;
  CHECK_FALSE(pecl_uncompress(flipped, 1 << 20));  // its adler32 does not match
  // A stream inflating past the limit (a zlib bomb) is refused.
  CHECK_FALSE(pecl_uncompress(*compressed, 50000));
  CHECK(pecl_uncompress(*compressed, 100000));
}
