// Fuzz target: PHP session values from the store are hostile input (and,
// flagged compressed, hostile zlib streams). The
// decoders of both serialize handlers must never crash, loop or accept
// something they cannot write back; what they accept must re-encode to a
// fixed point; and a session whose value does not decode must leave it,
// and every other key, exactly as stored.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "session/memory_store.h"
#include "session/pecl_compression.h"
#include "session/php_serialize.h"
#include "session/session.h"

namespace {

using namespace cppfpm::session;

void check_fixed_point(std::string_view input, Format format) {
  const auto decoded = decode_session(input, format);
  if (!decoded) return;
  const std::string once = encode_session(*decoded, format);
  const auto again = decode_session(once, format);
  if (!again) __builtin_trap();  // we wrote something we cannot read
  if (encode_session(*again, format) != once) __builtin_trap();
}

void check_store_untouched(std::string_view input, Format format) {
  static const std::string kId = "0123456789abcdefghijklmnop";
  static const std::string kOther = "vvvvvvvvvvvvvvvvvvvvvvvvvv";
  MemoryStore store;
  store.write(kId, input, std::chrono::seconds(0));
  store.write(kOther, "other|i:1;", std::chrono::seconds(0));
  Settings settings;
  settings.serialize_handler = format == Format::php ? "php" : "php_serialize";
  Session session(store, settings);
  if (session.start("PHPSESSID=" + kId) != StoreResult::ok) __builtin_trap();
  const bool decodes = decode_session(input, format).has_value();
  session.commit();
  std::string after;
  store.read(kId, after);
  if (!decodes && after != input) __builtin_trap();  // an unreadable value was overwritten
  std::string other;
  if (store.read(kOther, other) != StoreResult::ok || other != "other|i:1;") __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Every undecodable value is reported; millions of reports help nobody here.
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_fixed_point(input, Format::php);
  check_fixed_point(input, Format::php_serialize);
  std::size_t consumed = 0;
  if (auto value = unserialize(input, &consumed); value && consumed > size) __builtin_trap();
  // A value flagged compressed (pecl-memcache) is inflated first: never past
  // its limit, and what inflates round-trips.
  if (auto inflated = pecl_uncompress(input, 1 << 16)) {
    if (inflated->size() > (1 << 16)) __builtin_trap();
    if (auto again = pecl_compress(*inflated, 1);
        again && pecl_uncompress(*again, 1 << 16) != inflated)
      __builtin_trap();
  }
  if (size < 4096) {
    check_store_untouched(input, Format::php);
    check_store_untouched(input, Format::php_serialize);
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "Itcys.top|i:1795557203;",
      "Itcys.top|i:1795618362;arr|a:4:{i:0;i:1;s:1:\"a\";d:2.5;s:1:\"n\";N;s:1:\"b\";b:1;}",
      "a:2:{s:1:\"n\";i:5;i:7;s:1:\"x\";}",
      "u|O:8:\"stdClass\":1:{s:1:\"a\";i:1;}r|r:1;",
      "f|d:0.1;g|d:-INF;h|d:NAN;e|d:1.0E+25;",
      "s|s:5:\"a\"b|c\";t|b:0;",
      "deep|a:1:{i:0;a:1:{i:0;a:1:{i:0;a:0:{}}}}",
      "E|E:7:\"Foo:Bar\";C|C:3:\"Foo\":2:{ab}",
      "x|s:999999:\"short\";",
      "|i:1;",
  };
}
