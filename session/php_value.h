#pragma once
// A model of the PHP values a session can hold: null, bool, int, float,
// byte string, ordered array, and an opaque form for everything this code
// does not interpret (objects, enums, references), kept as the exact
// serialized bytes so it is written back unchanged.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace cppfpm::session {

struct PhpNull {
  bool operator==(const PhpNull&) const = default;
};

// Serialized bytes of a value kept verbatim (`O:...}`, `C:...}`, `E:...;`,
// `r:N;`, `R:N;`).
struct PhpOpaque {
  std::string serialized;
  bool operator==(const PhpOpaque&) const = default;
};

// An array key: PHP arrays have integer and string keys only.
using PhpKey = std::variant<std::int64_t, std::string>;

// PHP's rule for array keys: a string that is the canonical decimal form of
// an integer in range ("5", "-3", not "05", "+5", "-0" or " 5") is the
// integer key.
PhpKey normalize_key(std::string_view key);

class PhpValue;
struct PhpArrayEntry;

// An ordered hash map with PHP's semantics: insertion order is kept,
// assigning to an existing key replaces its value in place, and append()
// uses one more than the largest integer key used so far.
class PhpArray {
 public:
  PhpArray();
  PhpArray(const PhpArray&);
  PhpArray(PhpArray&&) noexcept;
  PhpArray& operator=(const PhpArray&);
  PhpArray& operator=(PhpArray&&) noexcept;
  ~PhpArray();

  std::size_t size() const;
  bool empty() const;

  // Lookup; a string key is normalized first ("5" finds 5).
  const PhpValue* find(std::string_view key) const;
  PhpValue* find(std::string_view key);
  const PhpValue* find(std::int64_t key) const;
  PhpValue* find(std::int64_t key);
  const PhpValue* find_key(const PhpKey& key) const;  // exact, no normalization
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  // Assignment, as `$a[$key] = $value`.
  void set(std::string_view key, PhpValue value);
  void set(std::int64_t key, PhpValue value);
  // Assignment under exactly this key, without normalization. The `php`
  // session format keeps top-level names as strings even when numeric.
  void set_key(PhpKey key, PhpValue value);
  // `$a[] = $value`; false when the next index would overflow (PHP warns).
  bool append(PhpValue value);

  bool erase(std::string_view key);
  bool erase(std::int64_t key);
  bool erase_key(const PhpKey& key);
  void clear();

  using const_iterator = std::vector<PhpArrayEntry>::const_iterator;
  const_iterator begin() const;
  const_iterator end() const;

  // Same entries in the same order (PHP's ===).
  bool operator==(const PhpArray& other) const;

 private:
  std::vector<PhpArrayEntry> entries_;
  std::unordered_map<PhpKey, std::size_t> index_;  // key -> position in entries_
  std::optional<std::int64_t> next_index_;         // nullopt: no integer key yet

  PhpValue* find_slot(const PhpKey& key);
  void rebuild_index();
};

class PhpValue {
 public:
  enum class Type { null, boolean, integer, floating, string, array, opaque };

  PhpValue() = default;
  PhpValue(std::nullptr_t) {}
  PhpValue(bool value) : value_(value) {}
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) PhpValue(T value)
      : value_(static_cast<std::int64_t>(value)) {}
  PhpValue(double value) : value_(value) {}
  PhpValue(std::string value) : value_(std::move(value)) {}
  PhpValue(std::string_view value) : value_(std::string(value)) {}
  PhpValue(const char* value) : value_(std::string(value)) {}
  PhpValue(PhpArray value) : value_(std::move(value)) {}
  PhpValue(PhpOpaque value) : value_(std::move(value)) {}

  Type type() const { return static_cast<Type>(value_.index()); }
  bool is_null() const { return type() == Type::null; }

  // Typed access: nullptr when the value holds another type.
  const bool* as_bool() const { return std::get_if<bool>(&value_); }
  const std::int64_t* as_int() const { return std::get_if<std::int64_t>(&value_); }
  const double* as_double() const { return std::get_if<double>(&value_); }
  const std::string* as_string() const { return std::get_if<std::string>(&value_); }
  const PhpArray* as_array() const { return std::get_if<PhpArray>(&value_); }
  PhpArray* as_array() { return std::get_if<PhpArray>(&value_); }
  const PhpOpaque* as_opaque() const { return std::get_if<PhpOpaque>(&value_); }

  // Same type and value (PHP's ===; NAN is not identical to itself).
  bool operator==(const PhpValue& other) const = default;

 private:
  // The order matches Type.
  std::variant<PhpNull, bool, std::int64_t, double, std::string, PhpArray, PhpOpaque> value_;
};

struct PhpArrayEntry {
  PhpKey key;
  PhpValue value;
  bool operator==(const PhpArrayEntry&) const = default;
};

}  // namespace cppfpm::session
