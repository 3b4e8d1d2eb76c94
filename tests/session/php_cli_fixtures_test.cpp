// Byte strings produced by real PHP (the Debian `php` CLI, run by the test
// itself) decode and re-encode to the very same bytes, in both session
// serialize handlers. Skipped with a warning when no php CLI is installed
// (deploy/install-deps installs php8.2-fpm, which brings it).
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "session/php_serialize.h"

using namespace cppfpm::session;

namespace {

// Each PHP expression becomes one session; the script prints every
// session_encode() result on its own line, hex-encoded so bytes survive.
const char* kScript = R"PHP(
$cases = [
  ['Itcys.top' => 1795618362, 'arr' => [1, 'a' => 2.5, 'n' => null, 'b' => true]],
  ['f' => 0.1, 'g' => 1e100, 'h' => -0.0, 'i' => 1/3, 'j' => 123456789012345678.0, 'k' => INF, 'l' => -INF],
  ['max' => PHP_INT_MAX, 'min' => PHP_INT_MIN, 'zero' => 0, 'neg' => -42],
  ['bin' => "a\0b\"c\n;|}", 'utf8' => "h\u{e9}llo", 'empty' => ''],
  ['nested' => ['x' => ['y' => ['z' => [1, 2, 3]]]], '5' => 'numeric name', 'keys' => ['7' => 'a', '07' => 'b', -3 => 'c']],
  ['obj' => (object)['p' => 1, 'q' => [2]], 'after' => 'still here'],
  ['t' => true, 'u' => false, 'v' => null],
];
foreach ($cases as $case) {
  $_SESSION = $case;
  echo 'session ', bin2hex(session_encode()), "\n";
}
)PHP";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

bool is_hex(const std::string& s) {
  return s.size() % 2 == 0 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// (handler, bytes) for every case, as PHP's session_encode() wrote them.
std::vector<std::pair<std::string, std::string>> php_fixtures(const std::string& handler) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string command =
      "php -n -d session.save_path=/tmp -d session.use_cookies=0 -d session.serialize_handler=" +
      handler + " -r '";
  command += "session_id(\"fixturefixturefixture00\"); session_start(); ";
  for (const char* p = kScript; *p; ++p) {
    if (*p == '\'')
      command += "'\\''";
    else if (*p != '\n')
      command += *p;
    else
      command += ' ';
  }
  command += " session_abort();' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char line[65536];
  while (std::fgets(line, sizeof(line), pipe)) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    constexpr std::string_view kPrefix = "session ";
    if (text.compare(0, kPrefix.size(), kPrefix) != 0 || !is_hex(text.substr(kPrefix.size())))
      continue;
    out.emplace_back(handler, from_hex(text.substr(kPrefix.size())));
  }
  ::pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("php_serialize: sessions encoded by real PHP round-trip byte for byte",
          "[session][php]") {
  auto fixtures = php_fixtures("php");
  auto serialized = php_fixtures("php_serialize");
  fixtures.insert(fixtures.end(), serialized.begin(), serialized.end());
  if (fixtures.empty()) {
    WARN("SKIPPED: no php CLI here (install php8.2-cli to run this test)");
    return;
  }
  CHECK(fixtures.size() == 14);
  for (const auto& [handler, bytes] : fixtures) {
    INFO(handler << ": " << bytes);
    Format format = handler == "php" ? Format::php : Format::php_serialize;
    auto decoded = decode_session(bytes, format);
    REQUIRE(decoded);
    CHECK(encode_session(*decoded, format) == bytes);
  }
}
