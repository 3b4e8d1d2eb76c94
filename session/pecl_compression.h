#pragma once
// pecl-memcache's value compression, which PHP applies to session values of
// memcache.compress_threshold (20000) bytes or more when that saves at least
// 20 % (memcache.compress_min_savings): the value is stored as a zlib stream
// (RFC 1950, no length prefix) with bit 2 (MMC_COMPRESSED) in the flags.
// Read back, such a session must be inflated, or a PHP user with a large
// session would lose it the first time a C++ page saw it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cppfpm::session {

inline constexpr std::uint32_t kPeclCompressedFlag = 2;
inline constexpr std::size_t kPeclCompressThreshold = 20000;

// The inflated value, or nullopt when `stored` is not a complete zlib
// stream or inflates past `limit` bytes (a bomb).
std::optional<std::string> pecl_uncompress(std::string_view stored, std::size_t limit);

// The zlib stream for `value` when it is at least `threshold` bytes and
// compression saves 20 %; nullopt means "store it as it is".
std::optional<std::string> pecl_compress(std::string_view value,
                                         std::size_t threshold = kPeclCompressThreshold);

}  // namespace cppfpm::session
