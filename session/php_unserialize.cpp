#include "session/php_serialize.h"

// The reading half of php_serialize.h: PHP's unserialize() grammar
// (php-src ext/standard/var_unserializer.re) over untrusted bytes.

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <utility>

namespace cppfpm::session {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A recursive-descent reader of PHP's serialize() grammar that never reads
// past the end of its input and gives up past kMaxSerializeDepth.
class Reader {
 public:
  explicit Reader(std::string_view input) : in_(input) {}

  std::size_t offset() const { return pos_; }
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return at_end() ? '\0' : in_[pos_]; }

  bool consume(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }

  // Reads one value into *out, or only checks and skips it when out is null.
  bool value(PhpValue* out, int depth) {
    if (depth > kMaxSerializeDepth || in_.size() - pos_ < 2) return false;
    const std::size_t start = pos_;
    const char tag = in_[pos_];
    if (tag == 'N') {
      pos_ += 1;
      if (!consume(';')) return false;
      if (out) *out = PhpValue();
      return true;
    }
    pos_ += 1;
    if (!consume(':')) return false;
    switch (tag) {
      case 'b': {
        const char c = peek();
        if ((c != '0' && c != '1') || !consume(c) || !consume(';')) return false;
        if (out) *out = PhpValue(c == '1');
        return true;
      }
      case 'i': {
        std::int64_t number = 0;
        if (!integer(number) || !consume(';')) return false;
        if (out) *out = PhpValue(number);
        return true;
      }
      case 'd': {
        double number = 0;
        if (!floating(number) || !consume(';')) return false;
        if (out) *out = PhpValue(number);
        return true;
      }
      case 's':
      case 'S': {
        std::string text;
        if (!(tag == 's' ? plain_string(text) : escaped_string(text)) || !consume(';')) {
          return false;
        }
        if (out) *out = PhpValue(std::move(text));
        return true;
      }
      case 'a': {
        PhpArray array;
        if (!array_body(out ? &array : nullptr, depth)) return false;
        if (out) *out = PhpValue(std::move(array));
        return true;
      }
      case 'O':
      case 'C':
      case 'E':
      case 'r':
      case 'R': {
        if (!opaque_body(tag, depth)) return false;
        if (out) *out = PhpValue(PhpOpaque{std::string(in_.substr(start, pos_ - start))});
        return true;
      }
      default:
        return false;
    }
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;

  // uiv: [0-9]+, refused above `limit` (lengths never exceed the input).
  bool unsigned_number(std::size_t& out, std::size_t limit) {
    const std::size_t start = pos_;
    std::size_t value = 0;
    while (!at_end() && is_digit(in_[pos_])) {
      const auto digit = static_cast<std::size_t>(in_[pos_] - '0');
      if (digit > limit || value > (limit - digit) / 10) return false;
      value = value * 10 + digit;
      ++pos_;
    }
    out = value;
    return pos_ > start;
  }

  // iv: [+-]?[0-9]+; out of range clamps to the limit as PHP does.
  bool integer(std::int64_t& out) {
    bool negative = false;
    if (peek() == '-' || peek() == '+') {
      negative = peek() == '-';
      ++pos_;
    }
    const std::size_t start = pos_;
    std::uint64_t magnitude = 0;
    bool overflow = false;
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;  // |INT64_MIN|
    while (!at_end() && is_digit(in_[pos_])) {
      const auto digit = static_cast<std::uint64_t>(in_[pos_] - '0');
      if (magnitude > (kLimit - digit) / 10) overflow = true;
      if (!overflow) magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) return false;
    if (!negative && magnitude == kLimit) overflow = true;
    if (overflow) {
      out = negative ? std::numeric_limits<std::int64_t>::min()
                     : std::numeric_limits<std::int64_t>::max();
    } else {
      out = negative ? static_cast<std::int64_t>(0 - magnitude)
                     : static_cast<std::int64_t>(magnitude);
    }
    return true;
  }

  std::size_t digits() {
    const std::size_t start = pos_;
    while (!at_end() && is_digit(in_[pos_])) ++pos_;
    return pos_ - start;
  }

  // d: NAN | -?INF | [+-]? (digits | digits? . digits | digits .) ([eE] [+-]? digits)?
  bool floating(double& out) {
    const std::string_view rest = in_.substr(pos_);
    for (const auto& [word, value] :
         {std::pair{std::string_view("NAN"), std::numeric_limits<double>::quiet_NaN()},
          std::pair{std::string_view("INF"), std::numeric_limits<double>::infinity()},
          std::pair{std::string_view("-INF"), -std::numeric_limits<double>::infinity()}}) {
      if (rest.starts_with(word)) {
        pos_ += word.size();
        out = value;
        return true;
      }
    }
    const std::size_t start = pos_;
    if (peek() == '-' || peek() == '+') ++pos_;
    const std::size_t number_start = pos_;
    std::size_t mantissa = digits();
    if (consume('.')) mantissa += digits();
    if (mantissa == 0) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '-' || peek() == '+') ++pos_;
      if (digits() == 0) return false;
    }
    const char* first = in_.data() + number_start;
    const char* last = in_.data() + pos_;
    double magnitude = 0;
    const auto result = std::from_chars(first, last, magnitude);
    if (result.ptr != last) return false;
    if (result.ec == std::errc::result_out_of_range) {
      // Like strtod (PHP's zend_strtod): overflow is INF, underflow is 0.
      magnitude = std::strtod(std::string(first, last).c_str(), nullptr);
    } else if (result.ec != std::errc()) {
      return false;
    }
    out = in_[start] == '-' ? -magnitude : magnitude;
    return true;
  }

  // uiv:"<uiv bytes>"
  bool quoted_bytes(std::string_view& out) {
    std::size_t length = 0;
    if (!unsigned_number(length, in_.size()) || !consume(':') || !consume('"')) return false;
    if (in_.size() - pos_ < length) return false;
    out = in_.substr(pos_, length);
    pos_ += length;
    return consume('"');
  }

  bool plain_string(std::string& out) {
    std::string_view bytes;
    if (!quoted_bytes(bytes)) return false;
    out.assign(bytes);
    return true;
  }

  // S:<len>:"..."; where a backslash starts two hex digits; len counts bytes.
  bool escaped_string(std::string& out) {
    std::size_t length = 0;
    if (!unsigned_number(length, in_.size()) || !consume(':') || !consume('"')) return false;
    out.clear();
    while (out.size() < length) {
      if (at_end()) return false;
      char c = in_[pos_++];
      if (c == '\\') {
        if (in_.size() - pos_ < 2) return false;
        unsigned byte = 0;
        const auto result = std::from_chars(in_.data() + pos_, in_.data() + pos_ + 2, byte, 16);
        if (result.ec != std::errc() || result.ptr != in_.data() + pos_ + 2) return false;
        pos_ += 2;
        c = static_cast<char>(byte);
      }
      out.push_back(c);
    }
    return consume('"');
  }

  // A key of an array or object: i: or s: (or S:) only.
  bool key(PhpKey* out, int depth) {
    const char tag = peek();
    if (tag != 'i' && tag != 's' && tag != 'S') return false;
    PhpValue parsed;
    if (!value(&parsed, depth)) return false;
    if (out) {
      if (const auto* number = parsed.as_int()) {
        *out = *number;
      } else {
        *out = normalize_key(*parsed.as_string());  // PHP's symtable rule
      }
    }
    return true;
  }

  // n:{ key value ... }
  bool pairs(PhpArray* out, int depth) {
    std::size_t count = 0;
    if (!unsigned_number(count, in_.size()) || !consume(':') || !consume('{')) return false;
    for (std::size_t i = 0; i < count; ++i) {
      PhpKey entry_key;
      PhpValue entry_value;
      if (!key(out ? &entry_key : nullptr, depth + 1)) return false;
      if (!value(out ? &entry_value : nullptr, depth + 1)) return false;
      if (out) out->set_key(std::move(entry_key), std::move(entry_value));
    }
    return consume('}');
  }

  bool array_body(PhpArray* out, int depth) { return pairs(out, depth); }

  bool opaque_body(char tag, int depth) {
    std::string_view name;
    switch (tag) {
      case 'r':
      case 'R': {
        std::size_t slot = 0;
        return unsigned_number(slot, std::numeric_limits<std::size_t>::max()) && consume(';');
      }
      case 'E':  // E:<len>:"Class:Case";
        return quoted_bytes(name) && name.find(':') != std::string_view::npos && consume(';');
      case 'O':  // O:<len>:"Class":<n>:{ properties }
        return quoted_bytes(name) && !name.empty() && consume(':') && pairs(nullptr, depth);
      case 'C': {  // C:<len>:"Class":<len>:{ raw bytes }
        std::size_t length = 0;
        if (!quoted_bytes(name) || name.empty() || !consume(':') ||
            !unsigned_number(length, in_.size()) || !consume(':') || !consume('{')) {
          return false;
        }
        if (in_.size() - pos_ < length) return false;
        pos_ += length;
        return consume('}');
      }
      default:
        return false;
    }
  }
};

}  // namespace

std::optional<PhpValue> unserialize(std::string_view input, std::size_t* consumed) {
  Reader reader(input);
  PhpValue value;
  if (!reader.value(&value, 0)) return std::nullopt;
  if (consumed) {
    *consumed = reader.offset();
  } else if (!reader.at_end()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace cppfpm::session
