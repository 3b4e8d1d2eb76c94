#include "session/lock_token.h"

#include <charconv>
#include <random>

namespace cppfpm::session {
namespace {

constexpr std::uint64_t kMarker = std::uint64_t{1} << 62;
constexpr std::uint64_t kOwnerBits = ((std::uint64_t{1} << 30) - 1) << 32;

}  // namespace

std::uint64_t new_lock_token() {
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  std::uint64_t owner = 0;
  while (owner == 0) owner = generator() & kOwnerBits;
  return kMarker | owner;
}

std::string lock_value(std::uint64_t token) {
  return std::to_string(token);
}

bool lock_value_owned_by(std::string_view value, std::uint64_t token) {
  std::uint64_t stored = 0;
  const char* end = value.data() + value.size();
  const auto [at, error] = std::from_chars(value.data(), end, stored);
  if (error != std::errc() || at != end) return false;
  return (stored & ~((std::uint64_t{1} << 32) - 1)) == (token & ~((std::uint64_t{1} << 32) - 1));
}

}  // namespace cppfpm::session
