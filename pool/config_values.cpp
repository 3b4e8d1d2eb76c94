#include "pool/config_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "server/text/strings.h"

namespace cppfpm::pool {

namespace {

bool is_variable_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Splits "123abc" into the leading digits and the rest.
std::pair<std::string_view, std::string_view> split_number(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) {
    ++digits;
  }
  return {text.substr(0, digits), text.substr(digits)};
}

class ValueDecoder {
 public:
  ValueDecoder(std::string_view raw, const EnvLookup& env) : raw_(raw), env_(env) {}

  Parsed<std::string> run() {
    while (pos_ < raw_.size() && error_.empty()) {
      char c = raw_[pos_];
      if (c == '"') {
        double_quoted();
      } else if (c == '\'') {
        single_quoted();
      } else if (c == '$' && next_is('{')) {
        variable();
      } else {
        out_ += c;
        ++pos_;
      }
    }
    if (!error_.empty()) return {{}, error_};
    return {out_, {}};
  }

 private:
  bool next_is(char c) const { return pos_ + 1 < raw_.size() && raw_[pos_ + 1] == c; }

  void double_quoted() {
    ++pos_;
    while (pos_ < raw_.size() && error_.empty()) {
      char c = raw_[pos_];
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\' && pos_ + 1 < raw_.size()) {
        // PHP's ini scanner unescapes only these three inside "...".
        char n = raw_[pos_ + 1];
        if (n == '"' || n == '\\' || n == '$') {
          out_ += n;
          pos_ += 2;
          continue;
        }
      }
      if (c == '$' && next_is('{')) {
        variable();
        continue;
      }
      out_ += c;
      ++pos_;
    }
    if (error_.empty()) error_ = "has an unterminated \"quoted\" string";
  }

  void single_quoted() {
    std::size_t close = raw_.find('\'', pos_ + 1);
    if (close == std::string_view::npos) {
      error_ = "has an unterminated 'quoted' string";
      return;
    }
    out_.append(raw_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
  }

  void variable() {
    std::size_t open = pos_ + 2;
    std::size_t close = raw_.find('}', open);
    if (close == std::string_view::npos) {
      error_ = "has a '${' without its closing '}'";
      return;
    }
    std::string_view inner = raw_.substr(open, close - open);
    std::optional<std::string_view> fallback;
    if (std::size_t dash = inner.find(":-"); dash != std::string_view::npos) {
      fallback = inner.substr(dash + 2);
      inner = inner.substr(0, dash);
    }
    if (inner.empty() || !std::all_of(inner.begin(), inner.end(), is_variable_char)) {
      error_ = "has a bad variable reference '${" + std::string(raw_.substr(open, close - open)) +
               "}'; write ${NAME} with letters, digits and '_'";
      return;
    }
    std::optional<std::string> found = env_(std::string(inner));
    if (found) {
      out_ += *found;
    } else if (fallback) {
      out_.append(*fallback);
    } else {
      error_ = "uses the environment variable " + std::string(inner) +
               ", which is not set; set it or write ${" + std::string(inner) + ":-default}";
      return;
    }
    pos_ = close + 1;
  }

  std::string_view raw_;
  const EnvLookup& env_;
  std::size_t pos_ = 0;
  std::string out_;
  std::string error_;
};

}  // namespace

ValueExtent find_value_extent(std::string_view text) {
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '"' && c == '\\') {
      ++i;  // an escaped character never closes the quote
    } else if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ';') {
      return {i, false};
    }
  }
  return {text.size(), quote != 0};
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Parsed<std::string> decode_value(std::string_view raw, const EnvLookup& env) {
  return ValueDecoder(raw, env).run();
}

std::string substitute_pool_name(std::string_view value, std::string_view pool) {
  static constexpr std::string_view kToken = "$pool";
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t hit = value.find(kToken, pos);
    out.append(value.substr(pos, hit == std::string_view::npos ? hit : hit - pos));
    if (hit == std::string_view::npos) return out;
    out.append(pool);
    pos = hit + kToken.size();
  }
}

Parsed<bool> parse_bool(std::string_view text) {
  std::string word = text::lower(text::trim(text));
  if (word == "yes" || word == "on" || word == "true" || word == "1") return {true, {}};
  if (word == "no" || word == "off" || word == "false" || word == "0") return {false, {}};
  return {false, "is not a boolean; use yes or no"};
}

Parsed<long long> parse_integer(std::string_view text) {
  text = text::trim(text);
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || stop != end || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    return {0, "is not a whole number"};
  }
  if (ec == std::errc::result_out_of_range) return {0, "is too large"};
  return {value, {}};
}

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  static constexpr char kHelp[] =
      "is not a duration; write a whole number with an optional unit ms, s, m, h or d "
      "(no unit means seconds)";
  auto [digits, unit] = split_number(text::trim(text));
  if (digits.empty()) return {{}, kHelp};
  long long number = 0;
  auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  (void)stop;
  long long scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else if (unit == "d") {
    scale = 86400 * 1000;
  } else {
    return {{}, kHelp};
  }
  // A hundred years is far beyond any timeout and keeps the arithmetic safe.
  constexpr long long kMaxMs = 100LL * 365 * 86400 * 1000;
  if (ec != std::errc{} || number > kMaxMs / scale) return {{}, "is too long a duration"};
  return {std::chrono::milliseconds(number * scale), {}};
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  static constexpr char kHelp[] =
      "is not a size; write a whole number of bytes with an optional K, M or G";
  auto [digits, unit] = split_number(text::trim(text));
  if (digits.empty() || unit.size() > 1) return {0, kHelp};
  std::uint64_t number = 0;
  auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  (void)stop;
  int shift = 0;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit.front()))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      default:
        return {0, kHelp};
    }
  }
  if (ec != std::errc{} || number > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return {0, "is too large"};
  }
  return {number << shift, {}};
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> items;
  while (true) {
    std::size_t cut = text.find(separator);
    std::string_view item = text::trim(text.substr(0, cut));
    if (!item.empty()) items.emplace_back(item);
    if (cut == std::string_view::npos) return items;
    text.remove_prefix(cut + 1);
  }
}

}  // namespace cppfpm::pool
