// The seed's pages straight over FastCGI, on a real memcached and MariaDB:
// bodies and headers as PHP 8.2 answers them (DESIGN.md, "Routing and pages").
#include <catch2/catch.hpp>
#include <thread>

#include "support/fcgi_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

std::vector<std::string> header_names(const FcgiResponse& r) {
  std::vector<std::string> names;
  for (const auto& h : r.headers) names.push_back(h.first);
  return names;
}

// The first setSession of a fresh visitor: its page, checked for shape.
SetSessionPage first_visit(Stack& stack) {
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php");
  INFO("stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  REQUIRE(r.status == 200);
  auto cookie = r.header("Set-Cookie");
  REQUIRE(cookie);
  auto id = session_id_of_set_cookie(*cookie);
  REQUIRE(id);
  auto page = parse_set_session(r.body);
  REQUIRE(page);
  REQUIRE(page->id == *id);
  return *page;
}

// Sleeps into the next second so a re-issued time() would differ.
void next_second() {
  auto now = unix_now();
  while (unix_now() == now) std::this_thread::sleep_for(20ms);
}

}  // namespace

TEST_CASE("setSession: a fresh visitor gets a PHP session cookie and PHP's headers in order",
          "[pages][session]") {
  Stack stack;
  auto before = unix_now();
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php");
  auto after = unix_now();
  INFO("stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  CHECK(r.protocol_status == fcgi::request_complete);
  CHECK(r.app_status == 0);
  CHECK(r.status == 200);
  CHECK(header_names(r) == std::vector<std::string>{"Set-Cookie", "Expires", "Cache-Control",
                                                    "Pragma", "Content-type"});
  CHECK(r.header("Expires") == std::optional<std::string>("Thu, 19 Nov 1981 08:52:00 GMT"));
  CHECK(r.header("Cache-Control") ==
        std::optional<std::string>("no-store, no-cache, must-revalidate"));
  CHECK(r.header("Pragma") == std::optional<std::string>("no-cache"));
  CHECK(r.header("Content-type") == std::optional<std::string>("text/html; charset=UTF-8"));
  auto id = session_id_of_set_cookie(r.header("Set-Cookie").value_or(""));
  REQUIRE(id);
  CHECK(is_session_id(*id));
  auto page = parse_set_session(r.body);
  REQUIRE(page);
  CHECK(page->id == *id);
  CHECK(page->timestamp >= before);
  CHECK(page->timestamp <= after);
}

TEST_CASE("setSession: the session cookie brings back the same timestamp and id",
          "[pages][session]") {
  Stack stack;
  auto first = first_visit(stack);
  next_second();
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php", "PHPSESSID=" + first.id);
  INFO("stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  CHECK(r.status == 200);
  CHECK_FALSE(r.header("Set-Cookie"));
  CHECK(header_names(r) ==
        std::vector<std::string>{"Expires", "Cache-Control", "Pragma", "Content-type"});
  auto page = parse_set_session(r.body);
  REQUIRE(page);
  CHECK(page->id == first.id);
  CHECK(page->timestamp == first.timestamp);
}

TEST_CASE("setSession: the session cookie is found among other cookies", "[pages][session]") {
  Stack stack;
  auto first = first_visit(stack);
  auto r = fcgi_get(stack.fpm_port(), "/setSession.php",
                    "theme=dark; PHPSESSID=" + first.id + "; lang=zh-CN");
  INFO("stdout: " << r.stdout_data);
  auto page = parse_set_session(r.body);
  REQUIRE(page);
  CHECK(page->id == first.id);
  CHECK(page->timestamp == first.timestamp);
  CHECK_FALSE(r.header("Set-Cookie"));
}

TEST_CASE("setSession: memcached holds the session under the bare id with TTL 1440 s",
          "[pages][session][memcached]") {
  Stack stack;
  auto page = first_visit(stack);
  auto now = unix_now();
  CHECK(memcached_get(stack.memcached.port(), page.id) ==
        std::optional<std::string>(stored_session_value(page.timestamp)));
  bool found = false;
  for (const auto& item : memcached_items(stack.memcached.port())) {
    INFO("key " << item.key);
    if (item.key == page.id) {
      found = true;
      CHECK(item.exptime >= now + 1440 - 5);
      CHECK(item.exptime <= now + 1440 + 1);
    } else {
      // Only the released lock may remain, as PHP leaves it: set to 0.
      CHECK(item.key == page.id + ".lock");
      CHECK(memcached_get(stack.memcached.port(), item.key) == std::optional<std::string>("0"));
    }
  }
  CHECK(found);
}

TEST_CASE("setSession: /setSession without .php reaches the same page", "[pages][routing]") {
  Stack stack;
  auto first = first_visit(stack);
  auto r = fcgi_get(stack.fpm_port(), "/setSession", "PHPSESSID=" + first.id);
  INFO("stdout: " << r.stdout_data);
  CHECK(r.status == 200);
  auto page = parse_set_session(r.body);
  REQUIRE(page);
  CHECK(page->id == first.id);
  CHECK(page->timestamp == first.timestamp);
}

TEST_CASE("showSession: var_dump of the stored value, bool(false) for a fresh session",
          "[pages][session]") {
  Stack stack;
  auto fresh = fcgi_get(stack.fpm_port(), "/showSession.php");
  INFO("fresh stdout: " << fresh.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(fresh.ended);
  CHECK(fresh.status == 200);
  CHECK(fresh.body == "bool(false)\n");
  CHECK(fresh.header("Content-type") == std::optional<std::string>("text/html; charset=UTF-8"));
  auto fresh_id = session_id_of_set_cookie(fresh.header("Set-Cookie").value_or(""));
  CHECK(fresh_id);

  auto page = first_visit(stack);
  auto known = fcgi_get(stack.fpm_port(), "/showSession.php", "PHPSESSID=" + page.id);
  INFO("known stdout: " << known.stdout_data);
  CHECK(known.status == 200);
  CHECK(known.body == var_dump_string(stored_session_value(page.timestamp)));
  CHECK(known.body == "string(" + std::to_string(stored_session_value(page.timestamp).size()) +
                          ") \"Itcys.top|i:" + std::to_string(page.timestamp) + ";\"\n");
  CHECK_FALSE(known.header("Set-Cookie"));
}

TEST_CASE("testMySQL: phpUser/phpPass connects", "[pages][mysql]") {
  Stack stack;
  auto r = fcgi_get(stack.fpm_port(), "/testMySQL.php");
  INFO("stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
  REQUIRE(r.ended);
  CHECK(r.status == 200);
  CHECK(r.body == "<h1>connect success</h1>");
  CHECK(r.header("Content-type") == std::optional<std::string>("text/html; charset=UTF-8"));
}

TEST_CASE("an unknown script is php-fpm's 404 \"File not found.\"", "[pages][routing]") {
  Stack stack;
  for (const char* script : {"/nope.php", "/index.php", "/setSession.php.bak", "/"}) {
    auto r = fcgi_get(stack.fpm_port(), script);
    INFO(script << " stdout: " << r.stdout_data << "\nlog:\n" << stack.fpm_log());
    REQUIRE(r.ended);
    CHECK(r.status == 404);
    CHECK(header_names(r) == std::vector<std::string>{"Status", "Content-type"});
    CHECK(r.header("Status") == std::optional<std::string>("404 Not Found"));
    CHECK(r.header("Content-type") == std::optional<std::string>("text/html; charset=UTF-8"));
    CHECK(r.body == "File not found.\n");
  }
}
