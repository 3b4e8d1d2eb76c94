// Fuzz target: PHP's unserialize() format on its own (php_session_fuzz
// covers the session handlers built on it). Hostile lengths, counts and
// nesting must never crash, loop or allocate from a claimed count; what
// decodes must serialize to text that decodes to the same text again.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "session/php_serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t consumed = 0;
  if (auto prefix = cppfpm::session::unserialize(input, &consumed)) {
    if (consumed == 0 || consumed > size) __builtin_trap();
  }
  if (auto value = cppfpm::session::unserialize(input)) {
    const std::string once = cppfpm::session::serialize(*value);
    const auto again = cppfpm::session::unserialize(once);
    if (!again) __builtin_trap();
    if (cppfpm::session::serialize(*again) != once) __builtin_trap();
  }
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "a:4:{i:0;i:1;s:1:\"a\";d:2.5;s:1:\"n\";N;s:1:\"b\";b:1;}",
      "s:5:\"a\"b|c\";",
      "a:1:{i:0;a:1:{i:0;a:1:{i:0;a:0:{}}}}",
      "O:8:\"stdClass\":1:{s:1:\"a\";i:1;}",
      "a:2:{i:0;O:3:\"Foo\":0:{}i:1;r:2;}",
      "d:1.0E+25;",
      "i:-9223372036854775808;",
      "a:2147483647:{}",
      "s:18446744073709551615:\"x\";",
      "C:3:\"Foo\":2:{ab}",
      "E:7:\"Foo:Bar\";",
  };
}
