#include "session/php_serialize.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <utility>

namespace cppfpm::session {
namespace {

// --- encoding ----------------------------------------------------------------

void append_int(std::string& out, std::int64_t value) {
  std::array<char, 24> buf;
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), result.ptr);
}

void append_string(std::string& out, std::string_view value) {
  out += "s:";
  append_int(out, static_cast<std::int64_t>(value.size()));
  out += ":\"";
  out += value;
  out += "\";";
}

void append_key(std::string& out, const PhpKey& key) {
  if (const auto* number = std::get_if<std::int64_t>(&key)) {
    out += "i:";
    append_int(out, *number);
    out += ';';
  } else {
    append_string(out, std::get<std::string>(key));
  }
}

std::optional<PhpArray> decode_php(std::string_view data) {
  // name|value name|value ...: a name runs to the next '|'; the value after
  // it is one serialized value (php-src PS_SERIALIZER_DECODE_FUNC(php)).
  PhpArray vars;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t bar = data.find('|', pos);
    if (bar == std::string_view::npos) return std::nullopt;
    std::string name(data.substr(pos, bar - pos));
    std::size_t used = 0;
    auto value = unserialize(data.substr(bar + 1), &used);
    if (!value) return std::nullopt;
    vars.set_key(PhpKey(std::move(name)), std::move(*value));
    pos = bar + 1 + used;
  }
  return vars;
}

}  // namespace

std::string format_double(double value) {
  if (std::isnan(value)) return "NAN";
  if (std::isinf(value)) return value < 0 ? "-INF" : "INF";

  // Shortest round-trip digits, as zend_dtoa mode 0: "d.ddde±x".
  std::array<char, 64> buf;
  const auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<std::size_t>(result.ptr - buf.data()));
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  const std::string_view exp_text = sci.substr(e + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0),
                  exp_text.data() + exp_text.size(), exponent);
  // zend_gcvt's layout with ndigit = 17; decpt counts the digits before
  // the decimal point (value = 0.DIGITS * 10^decpt).
  const int decpt = exponent + 1;
  constexpr int kDigits = 17;
  std::string out = negative ? "-" : "";
  if (decpt < -3 || decpt > kDigits) {
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? digits.substr(1) : "0";
    out += 'E';
    out += exponent < 0 ? '-' : '+';
    out += std::to_string(exponent < 0 ? -exponent : exponent);
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else {
    const auto whole = static_cast<std::size_t>(decpt);
    if (digits.size() <= whole) {
      out += digits;
      out.append(whole - digits.size(), '0');
    } else {
      out += digits.substr(0, whole);
      out += '.';
      out += digits.substr(whole);
    }
  }
  return out;
}

// a:<count>:{<key><value>...}
void append_array(std::string& out, const PhpArray& array) {
  out += "a:";
  append_int(out, static_cast<std::int64_t>(array.size()));
  out += ":{";
  for (const auto& entry : array) {
    append_key(out, entry.key);
    serialize_append(out, entry.value);
  }
  out += '}';
}

void serialize_append(std::string& out, const PhpValue& value) {
  switch (value.type()) {
    case PhpValue::Type::null:
      out += "N;";
      break;
    case PhpValue::Type::boolean:
      out += *value.as_bool() ? "b:1;" : "b:0;";
      break;
    case PhpValue::Type::integer:
      out += "i:";
      append_int(out, *value.as_int());
      out += ';';
      break;
    case PhpValue::Type::floating:
      out += "d:";
      out += format_double(*value.as_double());
      out += ';';
      break;
    case PhpValue::Type::string:
      append_string(out, *value.as_string());
      break;
    case PhpValue::Type::array:
      append_array(out, *value.as_array());
      break;
    case PhpValue::Type::opaque:
      out += value.as_opaque()->serialized;
      break;
  }
}

std::string serialize(const PhpValue& value) {
  std::string out;
  serialize_append(out, value);
  return out;
}

std::optional<PhpArray> decode_session(std::string_view data, Format format) {
  if (data.empty()) return PhpArray();
  if (format == Format::php) return decode_php(data);
  // php_serialize: one serialized array; PHP ignores what follows it.
  std::size_t used = 0;
  auto value = unserialize(data, &used);
  if (!value || value->type() != PhpValue::Type::array) return std::nullopt;
  return std::move(*value->as_array());
}

bool is_encodable_session_name(const PhpKey& key, Format format) {
  if (format == Format::php_serialize) return true;
  const auto* name = std::get_if<std::string>(&key);
  return name != nullptr && name->find('|') == std::string::npos;
}

std::string encode_session(const PhpArray& vars, Format format) {
  std::string out;
  if (vars.empty()) return out;
  if (format == Format::php_serialize) {
    append_array(out, vars);
    return out;
  }
  for (const auto& entry : vars) {
    if (!is_encodable_session_name(entry.key, format)) continue;
    out += std::get<std::string>(entry.key);
    out += '|';
    serialize_append(out, entry.value);
  }
  return out;
}

}  // namespace cppfpm::session
