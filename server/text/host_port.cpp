#include "server/text/host_port.h"

#include <charconv>

#include "server/text/strings.h"

namespace cppfpm::text {
namespace {

std::optional<HostPort> fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return std::nullopt;
}

bool parse_port(std::string_view digits, int* port) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      value == 0 || value > 65535)
    return false;
  *port = static_cast<int>(value);
  return true;
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view item, int default_port, std::string* why) {
  HostPort out;
  out.port = default_port;
  std::string_view port_text;
  bool has_port = false;
  if (item.starts_with('[')) {
    const std::size_t close = item.find(']');
    if (close == std::string_view::npos) return fail(why, "unclosed '['");
    out.host = std::string(item.substr(1, close - 1));
    out.bracketed = true;
    const std::string_view after = item.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(why, "expected ':port' after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = item.find(':');
    out.host = std::string(item.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = item.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos)
        return fail(why, "an IPv6 address goes in brackets: [addr]:port");
    }
  }
  if (out.host.empty()) return fail(why, "empty host");
  // No host name or address holds these; a connect string or a log line
  // that carries the host would be broken by them.
  for (char c : out.host) {
    if (is_space(c) || c == '\'' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20)
      return fail(why, "invalid character in host name");
  }
  if (has_port && !parse_port(port_text, &out.port))
    return fail(why, "port must be a number from 1 to 65535");
  return out;
}

std::optional<std::vector<HostPort>> parse_host_port_list(std::string_view list, int default_port,
                                                          std::string* why) {
  std::vector<HostPort> out;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (item.empty()) {
      if (why) *why = "empty item";
      return std::nullopt;
    }
    std::string item_why;
    auto parsed = parse_host_port(item, default_port, &item_why);
    if (!parsed) {
      if (why) {
        // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict)
        // on "literal" + std::string.
        why->assign(1, '\'');
        why->append(item);
        why->append("': ");
        why->append(item_why);
      }
      return std::nullopt;
    }
    out.push_back(std::move(*parsed));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace cppfpm::text
