// Escaping for the status page's json form.
#include "pool/status_escape.h"

#include <cstdio>

namespace cppfpm::pool {
namespace {

void append_hex4(std::string& out, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", value & 0xFFFFu);
  out += buf;
}

void append_json_ascii(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '/':
      out += "\\/";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        append_hex4(out, static_cast<unsigned char>(c));
      else
        out += c;
  }
}

}  // namespace

// "/" as "\/", as PHP's json_encode and so php-fpm 8.2's status page
// (`"request uri":"\/status?json&full"`); other bytes as JSON needs them.
std::string json_text(std::string_view s) {
  std::string out;
  for (char c : s) append_json_ascii(out, c);
  return out;
}

namespace {

// Decodes one UTF-8 sequence at s[i], advancing i; -1 when invalid.
long next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  int extra = lead > 0xF4 ? -1 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC2 ? 1 : -1;
  if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size()) {
    ++i;
    return -1;
  }
  long cp = lead & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr long kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return -1;
  }
  i += static_cast<std::size_t>(extra) + 1;
  return cp;
}

}  // namespace

// The query string as php-fpm 8.1+ writes it into JSON: PHP's json_encode
// with JSON_INVALID_UTF8_IGNORE ("/" as "\/", non-ASCII as \uXXXX, invalid
// bytes dropped), without the surrounding quotes.
std::string json_query(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      append_json_ascii(out, s[i++]);
      continue;
    }
    long cp = next_code_point(s, i);
    if (cp < 0) continue;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_hex4(out, 0xD800 + static_cast<unsigned>(cp >> 10));
      append_hex4(out, 0xDC00 + static_cast<unsigned>(cp & 0x3FF));
    } else {
      append_hex4(out, static_cast<unsigned>(cp));
    }
  }
  return out;
}

}  // namespace cppfpm::pool
