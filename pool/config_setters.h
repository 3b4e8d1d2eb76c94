#pragma once
// Setters that store a config value into one struct field, for the key
// tables of config_builder.cpp, config_pool_keys.cpp and
// config_session_keys.cpp. Each returns "" or the reason the value is
// rejected, to be read after it: `pm.max_children = "0" must be at least 1`.
#include <chrono>
#include <string>

#include "pool/config_values.h"

namespace cppfpm::pool::setters {

template <class Owner>
using Setter = std::string (*)(Owner&, const std::string& value);

template <class Member>
struct MemberTraits;
template <class Owner_, class Type_>
struct MemberTraits<Type_ Owner_::*> {
  using Owner = Owner_;
  using Type = Type_;
};
template <auto Field>
using OwnerOf = typename MemberTraits<decltype(Field)>::Owner;

template <class Integer>
std::string store_integer(Integer& field, const std::string& value, long long min, long long max) {
  Parsed<long long> number = parse_integer(value);
  if (!number.ok()) return number.error;
  if (number.value < min) {
    return min == 0 ? "must not be negative" : "must be at least " + std::to_string(min);
  }
  if (number.value > max) return "must be at most " + std::to_string(max);
  field = static_cast<Integer>(number.value);
  return {};
}

template <class Rep, class Period>
std::string store_duration(std::chrono::duration<Rep, Period>& field, const std::string& value) {
  using Field = std::chrono::duration<Rep, Period>;
  Parsed<std::chrono::milliseconds> parsed = parse_duration(value);
  if (!parsed.ok()) return parsed.error;
  auto converted = std::chrono::duration_cast<Field>(parsed.value);
  if (converted != parsed.value) return "is not a whole number of seconds";
  field = converted;
  return {};
}

template <auto Field>
std::string text(OwnerOf<Field>& owner, const std::string& value) {
  owner.*Field = value;
  return {};
}

template <auto Field>
std::string non_empty_text(OwnerOf<Field>& owner, const std::string& value) {
  if (value.empty()) return "must not be empty";
  owner.*Field = value;
  return {};
}

template <auto Field, long long Min, long long Max>
std::string integer(OwnerOf<Field>& owner, const std::string& value) {
  return store_integer(owner.*Field, value, Min, Max);
}

template <auto Field>
std::string boolean(OwnerOf<Field>& owner, const std::string& value) {
  Parsed<bool> parsed = parse_bool(value);
  if (!parsed.ok()) return parsed.error;
  owner.*Field = parsed.value;
  return {};
}

template <auto Field>
std::string duration(OwnerOf<Field>& owner, const std::string& value) {
  return store_duration(owner.*Field, value);
}

// A duration stored as a count of seconds (PHP's integer seconds settings).
template <auto Field>
std::string seconds_count(OwnerOf<Field>& owner, const std::string& value) {
  std::chrono::seconds seconds{0};
  std::string why = store_duration(seconds, value);
  if (why.empty()) owner.*Field = seconds.count();
  return why;
}

}  // namespace cppfpm::pool::setters
