#pragma once
// Small ASCII string helpers shared by every layer. Locale-free on purpose:
// config keys, header words and ports are ASCII whatever LC_ALL says.
#include <string>
#include <string_view>

namespace cppfpm::text {

// True for C's isspace() set in the "C" locale: space, \t, \n, \v, \f, \r.
bool is_space(char c);

// `text` without leading and trailing is_space() characters.
std::string_view trim(std::string_view text);
std::string_view trim_start(std::string_view text);

// ASCII A-Z lowered; other bytes (UTF-8 included) unchanged.
std::string lower(std::string_view text);

// Non-empty and only 0-9.
bool all_digits(std::string_view text);

}  // namespace cppfpm::text
