#pragma once
// Session ids as PHP makes them (php-src ext/session/session.c
// php_session_create_id / bin_to_readable): kernel CSPRNG bytes spelled in
// an alphabet of 2^bits characters.
#include <string>
#include <string_view>

#include "session/settings.h"

namespace cppfpm::session {

// PHP's alphabets: 4 -> "0-9a-f", 5 -> "0-9a-v", 6 -> "0-9a-zA-Z,-".
// Empty for any other number of bits.
std::string_view session_id_alphabet(int bits_per_character);

// `length` characters (1..256) of `bits_per_character` (4..6) random bits
// each, from getrandom(2). Throws std::invalid_argument on parameters out
// of range and std::system_error when the kernel CSPRNG fails: a session
// id is never made from a weaker source.
std::string generate_session_id(int length, int bits_per_character);

// Exactly settings.sid_length characters, all from the alphabet of
// settings.sid_bits_per_character. (PHP itself accepts any [a-zA-Z0-9,-]
// up to 256 characters; we accept only ids we could have made.)
bool is_valid_session_id(std::string_view id, const Settings& settings);

}  // namespace cppfpm::session
