#pragma once
// Turning the text of a php-fpm config value into typed values. The reason
// strings read after the quoted value: `pm.max_children = "x" is not a whole
// number`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppfpm::pool {

template <class T>
struct Parsed {
  T value{};
  std::string error;  // empty when `value` is valid
  bool ok() const { return error.empty(); }
};

// Where a value's inline `;` comment starts, skipping quoted text.
struct ValueExtent {
  std::size_t end = 0;              // the value is text[0, end)
  bool unterminated_quote = false;  // a quote opened and never closed
};
ValueExtent find_value_extent(std::string_view text);

// Looks a variable up in the environment; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

// PHP ini value syntax: "double quoted" (with \" \\ \$ escapes) and
// 'single quoted' (raw) pieces join the unquoted text around them; ${NAME}
// and ${NAME:-default} outside single quotes come from `env`.
Parsed<std::string> decode_value(std::string_view raw, const EnvLookup& env);

// Replaces every `$pool` with the pool's name, as php-fpm does.
std::string substitute_pool_name(std::string_view value, std::string_view pool);

// yes/no, on/off, true/false, 1/0, case-insensitive.
Parsed<bool> parse_bool(std::string_view text);
// An optionally negative decimal whole number.
Parsed<long long> parse_integer(std::string_view text);
// A whole number with an optional unit ms, s, m, h or d; no unit means
// seconds (php-fpm's `30s`, `5m`).
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);
// Bytes with an optional K, M or G (1024-based, as PHP's `64M`).
Parsed<std::uint64_t> parse_size(std::string_view text);

// Splits on `separator`, trims blanks, drops empty items.
std::vector<std::string> split_list(std::string_view text, char separator);

}  // namespace cppfpm::pool
