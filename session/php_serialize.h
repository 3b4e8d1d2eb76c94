#pragma once
// PHP's serialize() format and the two session serialize handlers built on
// it (php-src ext/standard/var.c, var_unserializer.re, ext/session/session.c).
//
//   N;  b:1;  i:-5;  d:0.1;  s:3:"abc";  a:2:{i:0;N;s:1:"k";b:0;}
//   O:/C:/E:/r:/R: are kept as opaque bytes (PhpOpaque).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "session/php_value.h"

namespace cppfpm::session {

// session.serialize_handler
enum class Format {
  php,            // name|value name|value ... (PHP's default)
  php_serialize,  // serialize($_SESSION)
};

// Nesting limit for arrays and objects while decoding hostile input.
inline constexpr int kMaxSerializeDepth = 256;

// The text of a float under serialize_precision = -1: the shortest digits
// that read back to the same double, in PHP's layout ("0.1", "2.5", "-0",
// "1.0E+25", "1.0E-5", "INF", "-INF", "NAN").
std::string format_double(double value);

std::string serialize(const PhpValue& value);
void serialize_append(std::string& out, const PhpValue& value);

// Reads one serialized value. With `consumed` null the value must span the
// whole input; otherwise trailing bytes are allowed and their offset is
// stored. Malformed or too deeply nested input gives nullopt.
std::optional<PhpValue> unserialize(std::string_view input, std::size_t* consumed = nullptr);

// $_SESSION from the stored bytes; nullopt where PHP's decoder fails. An
// empty input is an empty session in both formats.
std::optional<PhpArray> decode_session(std::string_view data, Format format);

// The stored bytes for $_SESSION; an empty session encodes as "". In the
// `php` format, names PHP cannot encode are skipped: integer keys (PHP
// skips them too) and names containing '|' (PHP then fails the whole
// write); see is_encodable_session_name().
std::string encode_session(const PhpArray& vars, Format format);
bool is_encodable_session_name(const PhpKey& key, Format format);

}  // namespace cppfpm::session
