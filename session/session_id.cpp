#include "session/session_id.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <system_error>

namespace cppfpm::session {
namespace {

// PHP's hexconvtab; the first 2^bits characters form each alphabet.
constexpr std::string_view kCharacters =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-";
constexpr int kMaxLength = 256;  // PS_MAX_SID_LENGTH

void fill_random(unsigned char* buffer, std::size_t size) {
  std::size_t filled = 0;
  while (filled < size) {
    const ssize_t got = ::getrandom(buffer + filled, size - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom() failed");
    }
    filled += static_cast<std::size_t>(got);
  }
}

}  // namespace

std::string_view session_id_alphabet(int bits_per_character) {
  if (bits_per_character < 4 || bits_per_character > 6) return {};
  return kCharacters.substr(0, std::size_t{1} << bits_per_character);
}

std::string generate_session_id(int length, int bits_per_character) {
  const std::string_view alphabet = session_id_alphabet(bits_per_character);
  if (alphabet.empty()) {
    throw std::invalid_argument("session.sid_bits_per_character must be 4, 5 or 6");
  }
  if (length < 1 || length > kMaxLength) {
    throw std::invalid_argument("session.sid_length must be between 1 and 256");
  }
  const auto bits = static_cast<std::size_t>(bits_per_character);
  const auto chars = static_cast<std::size_t>(length);
  std::array<unsigned char, (kMaxLength * 6 + 7) / 8> random{};  // no allocation
  fill_random(random.data(), (chars * bits + 7) / 8);

  // bin_to_readable: bytes enter a bit buffer low bits first; each
  // character takes the lowest `bits` bits.
  const unsigned mask = (1u << bits) - 1;
  std::string id;
  id.reserve(chars);
  unsigned buffer = 0;
  std::size_t have = 0;
  std::size_t next = 0;
  while (id.size() < chars) {
    if (have < bits) {
      buffer |= static_cast<unsigned>(random[next++]) << have;
      have += 8;
    }
    id.push_back(alphabet[buffer & mask]);
    buffer >>= bits;
    have -= bits;
  }
  return id;
}

bool is_valid_session_id(std::string_view id, const Settings& settings) {
  const std::string_view alphabet = session_id_alphabet(settings.sid_bits_per_character);
  if (alphabet.empty() || settings.sid_length < 1 ||
      id.size() != static_cast<std::size_t>(settings.sid_length)) {
    return false;
  }
  for (char c : id) {
    if (alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace cppfpm::session
