#include "server/text/query_string.h"

#include <charconv>
#include <cstdint>
#include <utility>

#include "server/text/url.h"

namespace cppfpm::text {
namespace {

// ZEND_HANDLE_NUMERIC_STR: "0" or -?[1-9][0-9]* within zend_long is an
// integer key; "05", "-0" and "9223372036854775808" stay strings.
std::optional<std::int64_t> integer_key(std::string_view key) {
  std::string_view digits = key.starts_with('-') ? key.substr(1) : key;
  if (digits.empty() || (digits.front() == '0' && (digits.size() > 1 || key.size() > 1)))
    return std::nullopt;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), value);
  if (error != std::errc() || end != key.data() + key.size()) return std::nullopt;
  return value;
}

// What a name may not contain outside brackets: PHP turns ' ' and '.' (and
// in the text after an unclosed '[', '[' too) into '_'.
std::string underscored(std::string_view text, bool bracket_too) {
  std::string out(text);
  for (char& c : out) {
    if (c == ' ' || c == '.' || (bracket_too && c == '[')) c = '_';
  }
  return out;
}

// php_register_variable_ex for one decoded name and value.
void register_variable(QueryValue& top, std::string_view name, std::string value,
                       const QueryLimits& limits) {
  name = name.substr(0, name.find('\0'));  // the name is a C string there
  while (name.starts_with(' ')) name.remove_prefix(1);
  const std::size_t open = name.find('[');
  std::string base = underscored(name.substr(0, open), false);
  if (base.empty()) return;  // "=1", "[a]=1", "%20=1"
  if (open == std::string_view::npos) {
    top.set(std::move(base), QueryValue(std::move(value)));
    return;
  }

  // "a[x][]...": each [index] descends one level; "[]" appends.
  QueryValue* table = &top;
  std::optional<std::string> index = std::move(base);
  std::size_t pos = open;  // at a '['
  std::size_t level = 0;
  const std::string top_name = *index;
  while (true) {
    if (++level > limits.max_input_nesting_level) {
      top.erase(top_name);
      return;
    }
    const std::size_t close = name.find(']', pos + 1);
    if (close == std::string_view::npos) {
      // Not an index: at the top the '[' and what follows join the name
      // ("a[b" -> "a_b"); deeper, the rest is dropped.
      if (level == 1) index = *index + "_" + underscored(name.substr(pos + 1), true);
      break;
    }
    std::optional<std::string> next;
    if (close > pos + 1) next = std::string(name.substr(pos + 1, close - pos - 1));
    QueryValue* element;
    if (!index) {
      element = table->append(QueryValue());
      if (element == nullptr) return;
    } else {
      element = table->find(*index);
      if (element == nullptr || !element->is_array())
        element = &table->set(std::move(*index), QueryValue());
    }
    table = element;
    index = std::move(next);
    pos = close + 1;
    // Text after ']' that does not open another '[' is ignored ("a[b]c").
    if (pos >= name.size() || name[pos] != '[') break;
  }
  if (index)
    table->set(std::move(*index), QueryValue(std::move(value)));
  else
    table->append(QueryValue(std::move(value)));
}

}  // namespace

const QueryValue* QueryValue::find(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

QueryValue* QueryValue::find(std::string_view key) {
  return const_cast<QueryValue*>(std::as_const(*this).find(key));
}

std::optional<std::string> QueryValue::string_at(std::string_view key) const {
  const QueryValue* value = find(key);
  if (value == nullptr || value->is_array()) return std::nullopt;
  return value->text();
}

void QueryValue::note_key(std::string_view key) {
  if (auto n = integer_key(key); n && (!max_int_key_ || *n > *max_int_key_)) max_int_key_ = n;
}

QueryValue& QueryValue::set(std::string key, QueryValue value) {
  if (QueryValue* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  note_key(key);
  entries_.emplace_back(std::move(key), std::move(value));
  return entries_.back().second;
}

QueryValue* QueryValue::append(QueryValue value) {
  // An array without integer keys starts at 0; after the largest integer
  // key n comes n + 1, a negative n included (measured on PHP 8.2). That
  // key is new by construction, so no lookup is needed.
  std::int64_t next = 0;
  if (max_int_key_) {
    if (*max_int_key_ == INT64_MAX) return nullptr;
    next = *max_int_key_ + 1;
  }
  max_int_key_ = next;
  entries_.emplace_back(std::to_string(next), std::move(value));
  return &entries_.back().second;
}

void QueryValue::erase(std::string_view key) {
  std::erase_if(entries_, [&](const Entry& entry) { return entry.first == key; });
}

QueryValue parse_query_string(std::string_view query, const QueryLimits& limits) {
  QueryValue params;
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(pos, end - pos);
    pos = end + 1;
    if (pair.empty()) continue;  // strtok: "a=1&&b=2" has two pairs
    if (++count > limits.max_input_vars) break;
    const std::size_t eq = pair.find('=');
    std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    register_variable(params, url_decode(pair.substr(0, eq)), std::move(value), limits);
  }
  return params;
}

}  // namespace cppfpm::text
