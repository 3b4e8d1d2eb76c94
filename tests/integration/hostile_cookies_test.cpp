// Session ids a client makes up are never trusted: a cookie with spaces,
// CR/LF, 5000 characters or characters outside the id alphabet gets a fresh
// id, and nothing of it reaches memcached (keys there are ids we issued).
#include <catch2/catch.hpp>
#include <set>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

struct Hostile {
  const char* what;
  std::string value;
};

std::vector<Hostile> hostile_ids() {
  std::string long_valid_alphabet;
  for (int i = 0; i < 5000; ++i) long_valid_alphabet += "0123456789abcdefghijklmnopqrstuv"[i % 32];
  return {
      {"spaces", "abc def ghi jkl mno pqr st"},
      {"leading space", " 0123456789abcdefghijklmnop"},
      {"trailing space", "0123456789abcdefghijklmnop "},
      {"tab", "\t0123456789abcdefghijklmnop"},
      {"CR/LF header injection", "0123456789abcdefghijklmn\r\nSet-Cookie: evil=1"},
      {"bare LF", "0123456789abcdefghijk\nlmnop"},
      {"5000 characters of the id alphabet", long_valid_alphabet},
      {"5000 x 'a'", std::string(5000, 'a')},
      {"path traversal", "../../../../etc/passwd"},
      {"punctuation", "abc$%^&*()!@#<>{}[]|\\\"'`~?"},
      {"NUL byte", std::string("0123456789abc\0defghijklmno", 26)},
      {"high bytes",
       "\xff\xfe\xc3\xa9\xe4\xb8\xad"
       "0123456789abcdefghij"},
      {"memcached command injection", "x 0 0 1\r\nset pwned 0 0 1\r\n1"},
      {"empty", ""},
  };
}

}  // namespace

TEST_CASE("hostile session cookies get a fresh id and never reach memcached",
          "[session][hostile][memcached]") {
  Stack stack;
  std::set<std::string> issued;
  for (const auto& hostile : hostile_ids()) {
    INFO("cookie: " << hostile.what);
    auto r = fcgi_get(stack.fpm_port(), "/setSession.php", "PHPSESSID=" + hostile.value);
    INFO("stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
    REQUIRE(r.ended);
    CHECK(r.status == 200);
    CHECK(r.stdout_data.find("evil") == std::string::npos);
    auto page = parse_set_session(r.body);
    CHECK(page);
    if (page) issued.insert(page->id);  // whatever it uses must be all that is stored
    // PHP 8.2 rejects such an id (php_session_valid_key) and starts anew.
    auto id = session_id_of_set_cookie(r.header("Set-Cookie").value_or(""));
    CHECK(id);
    if (!id || !page) continue;
    CHECK(is_session_id(*id));
    CHECK(*id != hostile.value);
    CHECK(page->id == *id);
  }

  std::set<std::string> stored;
  for (const auto& item : memcached_items(stack.memcached.port()))
    stored.insert(session_of_key(item.key));
  CHECK(stored == issued);
  CHECK_FALSE(memcached_get(stack.memcached.port(), "pwned"));
}

TEST_CASE("showSession with a hostile cookie reads nothing and stores nothing",
          "[session][hostile][memcached]") {
  Stack stack;
  // A key a hostile id might be mapped onto if it were cut or cleaned up.
  REQUIRE(memcached_set(stack.memcached.port(), "abcdefghijklmnopqrstuv0123", "secret", 60));
  for (const auto& cookie : {std::string("PHPSESSID=abcdefghijklmnopqrstuv0123 x"),
                             std::string("PHPSESSID=abcdefghijklmnopqrstuv0123\r\n"),
                             "PHPSESSID=abcdefghijklmnopqrstuv0123" + std::string(5000, 'z')}) {
    auto r = fcgi_get(stack.fpm_port(), "/showSession.php", cookie);
    INFO("cookie of " << cookie.size() << " bytes; stdout: " << r.stdout_data);
    REQUIRE(r.ended);
    CHECK(r.body == "bool(false)\n");
    auto id = session_id_of_set_cookie(r.header("Set-Cookie").value_or(""));
    REQUIRE(id);
    CHECK(*id != "abcdefghijklmnopqrstuv0123");
  }
  for (const auto& item : memcached_items(stack.memcached.port())) {
    INFO("key in memcached: " << item.key);
    CHECK((item.key == "abcdefghijklmnopqrstuv0123" || is_session_id(session_of_key(item.key))));
  }
  CHECK(memcached_get(stack.memcached.port(), "abcdefghijklmnopqrstuv0123") ==
        std::optional<std::string>("secret"));
}
