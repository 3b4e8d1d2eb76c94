// Fuzz target: the Cookie request header and the session id in it are the
// most exposed client input of a session. find_cookie must never read out
// of bounds nor return more than the header holds; an id that
// is_valid_session_id accepts must be exactly sid_length characters of its
// alphabet (anything else would reach the store key and the Set-Cookie
// header); and an accepted id must make a Set-Cookie value without CR/LF.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "session/cookie.h"
#include "session/session_id.h"

namespace {

using namespace cppfpm::session;

void check_id(std::string_view id, int length, int bits) {
  Settings settings;
  settings.sid_length = length;
  settings.sid_bits_per_character = bits;
  if (!is_valid_session_id(id, settings)) return;
  if (id.size() != static_cast<std::size_t>(length)) __builtin_trap();
  const std::string_view alphabet = session_id_alphabet(bits);
  for (char c : id)
    if (alphabet.find(c) == std::string_view::npos) __builtin_trap();
  const std::string header = make_set_cookie(id, settings, 1795557203);
  if (header.find_first_of("\r\n") != std::string::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the cookie name's length, so names are fuzzed too.
  std::string_view name = "PHPSESSID";
  std::string_view header = input;
  if (!input.empty() && static_cast<unsigned char>(input[0]) < 16) {
    const std::size_t n = static_cast<unsigned char>(input[0]);
    if (input.size() > n) {
      name = input.substr(1, n);
      header = input.substr(1 + n);
    }
  }
  if (auto value = find_cookie(header, name)) {
    // url-decoding only shrinks: never longer than the header.
    if (value->size() > header.size()) __builtin_trap();
    check_id(*value, 26, 5);
    check_id(*value, 32, 4);
    check_id(*value, 48, 6);
  }
  check_id(input, 26, 5);
  check_id(input, static_cast<int>(size), 6);
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "PHPSESSID=0123456789abcdefghijklmnop",
      "a=b; PHPSESSID=0123456789abcdefghijklmnop; c=d",
      "PHPSESSID=%30123456789abcdefghijklmno%70",
      "PHPSESSID=abc+def%0d%0aSet-Cookie:%20x=y",
      "=x; ;;PHPSESSID; PHPSESSID=",
      std::string("\x03sid") + "sid=0123456789abcdef0123456789abcdef",
      "PHPSESSID=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV,-",
  };
}
