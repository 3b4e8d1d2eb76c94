#pragma once
// Where a cached query lives in memcached.
//
//   cppfpm:qc1:<sha256 hex>   a result; the digest covers the normalised SQL,
//                             the typed parameters and the current generation
//                             of each tag of the query
//   cppfpm:qc1:<...>:lock     held (memcached `add`) by the one caller that
//                             runs the query on a miss
//   cppfpm:qt:<tag>           a tag's generation, a decimal counter
//
// Keys are 10..80 printable bytes, far inside memcached's 250-byte,
// no-space, no-control-character rule, whatever the SQL or the values.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/database.h"

namespace cppfpm::sql {

inline constexpr std::string_view kQueryKeyPrefix = "cppfpm:qc1:";
inline constexpr std::string_view kTagKeyPrefix = "cppfpm:qt:";

// Whitespace runs outside quotes become one space, the ends are trimmed and
// a final ';' dropped, so the same statement written twice shares a key.
// Quoted text ('...', "...", `...`) is kept byte for byte.
std::string normalise_sql(std::string_view sql);

// An unambiguous byte form of typed parameters: no two different lists
// give the same bytes (each value carries its type and length).
std::string encode_params(const Params& params);

// (tag, its generation as stored under tag_key(tag)), in the order given.
using TagGenerations = std::vector<std::pair<std::string, std::string>>;

// Lower-case hex of SHA-256 (libcrypto's EVP), 64 characters. A query's
// text and parameters can come from a client, so the key hash must resist
// chosen collisions.
std::string sha256_hex(std::string_view data);

std::string query_key(std::string_view sql, const Params& params,
                      const TagGenerations& generations);
std::string lock_key(std::string_view query_key);
// A tag of [A-Za-z0-9_.-], 1..64 bytes, is used as is; any other is hashed.
std::string tag_key(std::string_view tag);

}  // namespace cppfpm::sql
