// Fuzz target: QUERY_STRING as PHP fills $_GET. The parser must never
// crash or loop; it must keep max_input_vars and max_input_nesting_level
// (a hostile query cannot build an unbounded or deeply nested $_GET); and
// every key of an array must be unique, as in a PHP array.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/text/query_string.h"

namespace {

using cppfpm::text::QueryValue;

// Returns the number of string leaves; traps on a duplicate key or a
// nesting deeper than `max_depth`.
std::size_t check(const QueryValue& value, std::size_t depth, std::size_t max_depth) {
  if (!value.is_array()) return 1;
  if (depth > max_depth) __builtin_trap();
  std::set<std::string> keys;
  std::size_t leaves = 0;
  for (const auto& [key, child] : value.entries()) {
    if (!keys.insert(key).second) __builtin_trap();
    if (value.find(key) == nullptr) __builtin_trap();
    leaves += child.is_array() ? check(child, depth + 1, max_depth) + 1 : 1;
  }
  return leaves;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  cppfpm::text::QueryLimits limits;
  limits.max_input_vars = 16;
  limits.max_input_nesting_level = 4;
  const QueryValue get = cppfpm::text::parse_query_string(input, limits);
  if (!get.is_array()) __builtin_trap();
  // Each pair adds at most one leaf and one array per nesting level.
  if (check(get, 0, limits.max_input_nesting_level + 1) >
      limits.max_input_vars * (limits.max_input_nesting_level + 2))
    __builtin_trap();
  (void)cppfpm::text::parse_query_string(input);  // PHP's default limits
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "a=1&b=2&c",
      "a[]=1&a[]=2&a[x][y]=3&a[5]=4&a[]=5",
      "a[b][c][d][e][f][g]=deep",
      "x+y.z=1&a%5Bb%5D=2&%00=3&=4&&&",
      "a[9223372036854775807]=1&a[]=2&a[-5]=3&a[05]=4",
      "a[=1&a]=2&a[b=3&a[b]c]=4&[x]=5",
      "k=%zz%4&k=%41%42+%2B",
  };
}
