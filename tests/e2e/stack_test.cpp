// End to end: stock nginx with the seed's `location ~ \.php$` block and a
// keepalive upstream in front of build/cppfpm, on real memcached and MariaDB,
// driven like a browser with a cookie jar.
#include <catch2/catch.hpp>
#include <thread>

#include "support/http_client.h"
#include "support/php.h"
#include "support/stack.h"

using namespace cppfpm::test;

namespace {

StackOptions with_nginx() {
  StackOptions options;
  options.nginx = true;
  return options;
}

// Where each of `names` first appears among the headers, -1 when absent.
std::vector<int> positions(const HttpResponse& r, const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& name : names) {
    int at = -1;
    for (std::size_t i = 0; i < r.headers.size() && at < 0; ++i)
      if (find_header(Headers{r.headers[i]}, name)) at = static_cast<int>(i);
    out.push_back(at);
  }
  return out;
}

std::string describe(const Stack& stack) {
  return "cppfpm log:\n" + stack.fpm_log() + "\nnginx error log:\n" + stack.nginx->error_log();
}

}  // namespace

TEST_CASE("setSession twice with a cookie jar gives the same timestamp and id", "[e2e][session]") {
  Stack stack(with_nginx());
  CookieJar jar;
  auto first = http_get(stack.http_port(), "/setSession.php", jar);
  INFO("body: " << first.body << "\n" << describe(stack));
  REQUIRE(first.status == 200);
  auto page = parse_set_session(first.body);
  REQUIRE(page);
  CHECK(jar.get("PHPSESSID") == std::optional<std::string>(page->id));
  auto now = unix_now();
  while (unix_now() == now) std::this_thread::sleep_for(20ms);
  auto second = http_get(stack.http_port(), "/setSession.php", jar);
  REQUIRE(second.status == 200);
  auto again = parse_set_session(second.body);
  REQUIRE(again);
  CHECK(again->id == page->id);
  CHECK(again->timestamp == page->timestamp);
  CHECK(second.all("Set-Cookie").empty());
}

TEST_CASE("setSession's first answer has PHP's headers in PHP's order", "[e2e][session]") {
  Stack stack(with_nginx());
  auto r = http_get(stack.http_port(), "/setSession.php");
  INFO(describe(stack));
  REQUIRE(r.status == 200);
  // nginx moves Content-Type up among its own headers; the ones it passes
  // through keep cppfpm's order.
  auto at = positions(r, {"Set-Cookie", "Expires", "Cache-Control", "Pragma"});
  for (int p : at) CHECK(p >= 0);
  CHECK(std::is_sorted(at.begin(), at.end()));
  REQUIRE(r.all("Set-Cookie").size() == 1);
  auto id = session_id_of_set_cookie(r.all("Set-Cookie")[0]);
  REQUIRE(id);
  CHECK(is_session_id(*id));
  CHECK(r.header("Expires") == std::optional<std::string>("Thu, 19 Nov 1981 08:52:00 GMT"));
  CHECK(r.header("Cache-Control") ==
        std::optional<std::string>("no-store, no-cache, must-revalidate"));
  CHECK(r.header("Pragma") == std::optional<std::string>("no-cache"));
  CHECK(r.header("Content-Type") == std::optional<std::string>("text/html; charset=UTF-8"));
}

TEST_CASE("showSession dumps the stored session, bool(false) when fresh", "[e2e][session]") {
  Stack stack(with_nginx());
  auto fresh = http_get(stack.http_port(), "/showSession.php");
  INFO(describe(stack));
  CHECK(fresh.status == 200);
  CHECK(fresh.body == "bool(false)\n");

  CookieJar jar;
  auto page = parse_set_session(http_get(stack.http_port(), "/setSession.php", jar).body);
  REQUIRE(page);
  auto shown = http_get(stack.http_port(), "/showSession.php", jar);
  CHECK(shown.status == 200);
  CHECK(shown.body == "string(" + std::to_string(stored_session_value(page->timestamp).size()) +
                          ") \"Itcys.top|i:" + std::to_string(page->timestamp) + ";\"\n");
}

TEST_CASE("memcached holds the session under the bare id with TTL 1440",
          "[e2e][session][memcached]") {
  Stack stack(with_nginx());
  CookieJar jar;
  auto page = parse_set_session(http_get(stack.http_port(), "/setSession.php", jar).body);
  REQUIRE(page);
  auto now = unix_now();
  CHECK(memcached_get(stack.memcached.port(), page->id) ==
        std::optional<std::string>("Itcys.top|i:" + std::to_string(page->timestamp) + ";"));
  bool found = false;
  for (const auto& item : memcached_items(stack.memcached.port())) {
    if (item.key != page->id) continue;
    found = true;
    CHECK(item.exptime - now >= 1440 - 5);
    CHECK(item.exptime - now <= 1440 + 1);
  }
  CHECK(found);
}

TEST_CASE("testMySQL connects", "[e2e][mysql]") {
  Stack stack(with_nginx());
  auto r = http_get(stack.http_port(), "/testMySQL.php");
  INFO(describe(stack));
  CHECK(r.status == 200);
  CHECK(r.body == "<h1>connect success</h1>");
  CHECK(r.header("Content-Type") == std::optional<std::string>("text/html; charset=UTF-8"));
}

TEST_CASE("testMySQL with a wrong password shows the failed page", "[e2e][mysql]") {
  StackOptions options = with_nginx();
  options.pool = [](ConfigKeys& pool) {
    set_key(pool, "sql.dsn", "\"" + mariadb_dsn(shared_mariadb().port, "phpUser", "wrong") + "\"");
  };
  Stack stack(options);
  auto r = http_get(stack.http_port(), "/testMySQL.php");
  INFO(describe(stack));
  CHECK(r.status == 200);
  CHECK(r.body == "<h1>connect MySQL failed</h1>");
}

TEST_CASE("an unknown page is 404 \"File not found.\"", "[e2e][routing]") {
  Stack stack(with_nginx());
  auto r = http_get(stack.http_port(), "/nothingHere.php");
  INFO(describe(stack));
  CHECK(r.status == 404);
  CHECK(r.body == "File not found.\n");
  CHECK(r.header("Content-Type") == std::optional<std::string>("text/html; charset=UTF-8"));
}

TEST_CASE("concurrent browsers through the keepalive upstream each keep their session",
          "[e2e][keepalive]") {
  Stack stack(with_nginx());
  constexpr int browsers = 8, rounds = 25;
  std::vector<std::string> failures(browsers);
  std::vector<std::thread> threads;
  for (int b = 0; b < browsers; ++b)
    threads.emplace_back([&, b] {
      try {
        CookieJar jar;
        std::optional<SetSessionPage> first;
        for (int i = 0; i < rounds && failures[b].empty(); ++i) {
          auto r =
              http_get(stack.http_port(), i % 5 == 4 ? "/showSession.php" : "/setSession.php", jar);
          if (r.status != 200) failures[b] = "status " + std::to_string(r.status);
          if (i % 5 == 4) {
            if (r.body != var_dump_string(stored_session_value(first->timestamp)))
              failures[b] = "showSession said " + r.body;
            continue;
          }
          auto page = parse_set_session(r.body);
          if (!page)
            failures[b] = "setSession said " + r.body;
          else if (!first)
            first = page;
          else if (page->id != first->id || page->timestamp != first->timestamp)
            failures[b] = "session changed to " + r.body;
        }
      } catch (const std::exception& e) {
        failures[b] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  INFO(describe(stack));
  for (int b = 0; b < browsers; ++b) {
    INFO("browser " << b);
    CHECK(failures[b] == "");
  }
}

TEST_CASE("the session survives the backend that made it (two cppfpm, one memcached)",
          "[e2e][session]") {
  // The seed's session保持 test: two PHP servers behind one upstream, one of
  // them stopped; the visitor keeps their session.
  Stack stack;
  Cppfpm second(stack.dir / "second", [&] {
    auto pool = stack.pool;
    set_key(pool, "listen", "127.0.0.1:" + std::to_string(free_loopback_port()));
    return pool;
  }());
  Nginx nginx(stack.dir / "front", std::vector<int>{stack.fpm_port(), second.port()});
  CookieJar jar;
  auto page = parse_set_session(http_get(nginx.port(), "/setSession.php", jar).body);
  REQUIRE(page);
  for (int i = 0; i < 4; ++i) {  // both backends see it (round robin)
    auto again = parse_set_session(http_get(nginx.port(), "/setSession.php", jar).body);
    REQUIRE(again);
    CHECK(again->id == page->id);
    CHECK(again->timestamp == page->timestamp);
  }
  stack.fpm.reset();  // backend one goes away
  for (int i = 0; i < 4; ++i) {
    auto r = http_get(nginx.port(), "/setSession.php", jar);
    INFO("after stopping backend one, request " << i << ": " << r.status << " " << r.body
                                                << "\nnginx:\n"
                                                << nginx.error_log());
    REQUIRE(r.status == 200);
    auto again = parse_set_session(r.body);
    REQUIRE(again);
    CHECK(again->id == page->id);
    CHECK(again->timestamp == page->timestamp);
  }
}

TEST_CASE("static files are nginx's own, .php goes to cppfpm (the seed's 动静分离)",
          "[e2e][routing]") {
  Stack stack(with_nginx());
  write_file(stack.dir / "html" / "index.html", "<h1>static</h1>\n");
  auto page = http_get(stack.http_port(), "/");
  INFO(describe(stack));
  CHECK(page.status == 200);
  CHECK(page.body == "<h1>static</h1>\n");
  stack.fpm.reset();  // no backend at all now
  CHECK(http_get(stack.http_port(), "/index.html").body == "<h1>static</h1>\n");
  CHECK(http_get(stack.http_port(), "/setSession.php").status == 502);
}
