#pragma once
// The bytes a cached ResultSet is stored as in memcached (format 1):
//
//   0x01                           format version
//   varint C, then C columns       each: varint length, the name's bytes
//   varint R, then R rows of C     each cell: varint 0 for NULL, or
//                                  varint (length + 1) and the bytes
//
// varint is LEB128 (7 bits a byte, low group first, high bit = more). A
// one-row, three-column result of short values costs a few bytes over the
// text itself. Anything else (other version, truncation, trailing bytes)
// decodes to nullopt and is treated as a miss.
#include <optional>
#include <string>
#include <string_view>

#include "sql/database.h"

namespace cppfpm::sql {

inline constexpr unsigned char kResultFormat = 1;

std::string encode_result(const ResultSet& result);
std::optional<ResultSet> decode_result(std::string_view bytes);

}  // namespace cppfpm::sql
