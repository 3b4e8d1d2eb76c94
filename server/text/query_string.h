#pragma once
// A query string read as PHP 8.2 fills $_GET (php-src main/php_variables.c:
// php_default_treat_data splits and decodes, php_register_variable_ex
// names and nests). The one parser for QUERY_STRING in cppfpm.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cppfpm::text {

// A $_GET value: a string, or an ordered array of (key, value) as a PHP
// array. Keys are kept as text; an integer key is its canonical decimal
// form ("5", "-4"), as PHP's symbol tables store "5" as the integer 5.
class QueryValue {
 public:
  using Entry = std::pair<std::string, QueryValue>;

  QueryValue() = default;  // an empty array
  explicit QueryValue(std::string text) : is_array_(false), text_(std::move(text)) {}

  bool is_array() const { return is_array_; }
  // The string; empty for an array.
  const std::string& text() const { return text_; }
  // The entries, in PHP's order; empty for a string.
  const std::vector<Entry>& entries() const { return entries_; }

  // The value at `key`, or nullptr.
  const QueryValue* find(std::string_view key) const;
  QueryValue* find(std::string_view key);
  // The value at `key` when it is a string (what `is_string($_GET[key])`
  // would accept), else nullopt.
  std::optional<std::string> string_at(std::string_view key) const;

  // $a[key] = value: an existing key keeps its place.
  QueryValue& set(std::string key, QueryValue value);
  // $a[] = value at the next integer key; nullptr when the array already
  // holds PHP_INT_MAX (PHP drops the value then).
  QueryValue* append(QueryValue value);
  // unset($a[key]).
  void erase(std::string_view key);

 private:
  void note_key(std::string_view key);

  bool is_array_ = true;
  std::string text_;
  std::vector<Entry> entries_;
  std::optional<std::int64_t> max_int_key_;  // nNextFreeElement - 1
};

// php.ini limits that shape $_GET, with PHP's defaults.
struct QueryLimits {
  std::size_t max_input_vars = 1000;         // later pairs are ignored
  std::size_t max_input_nesting_level = 64;  // a deeper name removes its variable
};

// $_GET for `query` (arg_separator.input "&"). See query_string.cpp for the
// rules, each with the PHP behaviour it reproduces.
QueryValue parse_query_string(std::string_view query, const QueryLimits& limits = {});

}  // namespace cppfpm::text
