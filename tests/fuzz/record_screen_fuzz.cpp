// Fuzz target: the FastCGI request-head screen must never read out of
// bounds, loop forever or accept a head whose pairs overrun the stream.
#include <cstdint>
#include <string>
#include <vector>

#include "server/fastcgi/record_screen.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cppfpm::server::ScreenLimits limits;
  limits.max_head_bytes = 4096;
  auto result = cppfpm::server::screen_request_head(data, size, limits);
  if (result.verdict == cppfpm::server::Verdict::invalid && result.reason.empty()) __builtin_trap();
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  using namespace std::string_literals;
  std::string begin = "\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"s;
  std::string params = "\x01\x04\x00\x01\x00\x0e\x02\x00\x0b\x01SCRIPT_NAMEx\x00\x00"s;
  std::string end = "\x01\x04\x00\x01\x00\x00\x00\x00"s;
  std::string big = "\x01\x04\x00\x01\x00\x0a\x00\x00\xff\xff\xff\xf0\x7f\xff\xff\xf0"s + "AB";
  return {begin + params + end, begin + big + end, begin + end,
          "\x01\x09\x00\x00\x00\x00\x00\x00"s + begin + end};
}
