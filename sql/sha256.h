#pragma once
// SHA-256 (FIPS 180-4), for cache keys: a query's text and parameters can
// come from a client, so the key hash must resist chosen collisions.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cppfpm::sql {

std::array<std::uint8_t, 32> sha256(std::string_view data);
// Lower-case hex of the digest, 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace cppfpm::sql
