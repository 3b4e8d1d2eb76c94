#pragma once
// What a session store accepts as a key. memcached's text protocol ends a
// key at a space or control character and refuses keys over 250 bytes, so a
// key like that could smuggle a second command; stores check every key
// they are given, even though Session only passes validated ids.
#include <cstddef>
#include <string_view>

namespace cppfpm::session {

inline constexpr std::size_t kMaxStoreKeyLength = 250;  // memcached KEY_MAX_LENGTH

// 1..250 bytes, none of them a space, a control character or DEL.
bool is_valid_store_key(std::string_view key);

}  // namespace cppfpm::session
