// The seed's pages in isolation: in-process session store, a fixed clock,
// a database whose answer the test decides.
#include <catch2/catch.hpp>

#include <regex>

#include "handlers/handler.h"
#include "handlers/router.h"
#include "session/memory_store.h"

using namespace cppfpm;

namespace {

struct FixedClock final : handlers::Clock {
  std::int64_t now = 1795557203;
  std::int64_t unix_now() const override { return now; }
};

struct FakeDatabase final : sql::Database {
  bool up = true;
  int pings = 0;
  bool ping() override {
    ++pings;
    return up;
  }
};

// A store that is down: every call fails as an unreachable memcached does.
struct DownStore final : session::SessionStore {
  session::StoreResult read(std::string_view, std::string&) override {
    return session::StoreResult::unavailable;
  }
  session::StoreResult write(std::string_view, std::string_view, std::chrono::seconds) override {
    return session::StoreResult::unavailable;
  }
  session::StoreResult touch(std::string_view, std::chrono::seconds) override {
    return session::StoreResult::unavailable;
  }
  session::StoreResult remove(std::string_view) override {
    return session::StoreResult::unavailable;
  }
};

struct Fixture {
  session::MemoryStore store;
  session::Settings settings;
  FakeDatabase db;
  sql::UncachedQueries cache{db};
  FixedClock clock;
  handlers::Context ctx{store, settings, db, cache, clock};

  server::Response call(void (*page)(const server::Request&, server::Response&, handlers::Context&),
                        const std::string& cookie = "") {
    server::Request request;
    if (!cookie.empty()) request.set_param("HTTP_COOKIE", cookie);
    server::Response response;
    page(request, response, ctx);
    return response;
  }
};

std::string header(const server::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

std::string id_from_cookie(const std::string& set_cookie) {
  std::smatch m;
  REQUIRE(std::regex_match(set_cookie, m, std::regex("PHPSESSID=([0-9a-v]{26}); path=/")));
  return m[1];
}

}  // namespace

TEST_CASE("pages: setSession's first visit answers PHP's headers and stores the time") {
  Fixture f;
  auto r = f.call(handlers::set_session);
  CHECK(r.status == 200);
  REQUIRE(r.headers.size() == 4);
  CHECK(r.headers[0].first == "Set-Cookie");
  std::string id = id_from_cookie(r.headers[0].second);
  CHECK(r.headers[1] == server::Header{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"});
  CHECK(r.headers[2] == server::Header{"Cache-Control", "no-store, no-cache, must-revalidate"});
  CHECK(r.headers[3] == server::Header{"Pragma", "no-cache"});
  CHECK(r.body == "1795557203<br><br>Session ID: " + id);
  std::string stored;
  REQUIRE(f.store.read(id, stored) == session::StoreResult::ok);
  CHECK(stored == "Itcys.top|i:1795557203;");
  CHECK(server::to_cgi(r).find("Content-type: text/html; charset=UTF-8\r\n\r\n") !=
        std::string::npos);
}

TEST_CASE("pages: setSession's second visit keeps the first timestamp and sends no cookie") {
  Fixture f;
  std::string id = id_from_cookie(header(f.call(handlers::set_session), "Set-Cookie"));
  f.clock.now += 100;
  auto r = f.call(handlers::set_session, "PHPSESSID=" + id);
  CHECK(header(r, "Set-Cookie").empty());
  CHECK(r.body == "1795557203<br><br>Session ID: " + id);
}

TEST_CASE("pages: hostile cookies get a fresh id and never reach the store") {
  Fixture f;
  for (std::string bad :
       {std::string("PHPSESSID=abc def"), std::string("PHPSESSID=abc%0d%0aset x 0 0 1"),
        "PHPSESSID=" + std::string(5000, 'a'),
        std::string("PHPSESSID=ABCDEFGHIJKLMNOPQRSTUVWXYZ")}) {
    auto r = f.call(handlers::set_session, bad);
    std::string id = id_from_cookie(header(r, "Set-Cookie"));
    CHECK(bad.find(id) == std::string::npos);
  }
  std::string out;
  CHECK(f.store.read("abc def", out) == session::StoreResult::not_found);
}

TEST_CASE("pages: showSession dumps the raw stored value, or false for a new session") {
  Fixture f;
  auto fresh = f.call(handlers::show_session);
  CHECK(fresh.body == "bool(false)\n");
  CHECK(header(fresh, "Set-Cookie").rfind("PHPSESSID=", 0) == 0);
  std::string id = id_from_cookie(header(f.call(handlers::set_session), "Set-Cookie"));
  auto shown = f.call(handlers::show_session, "PHPSESSID=" + id);
  CHECK(shown.body == "string(23) \"Itcys.top|i:1795557203;\"\n");
  CHECK(header(shown, "Set-Cookie").empty());
}

TEST_CASE("pages: an unreachable session store is a 503, not a lost session") {
  Fixture f;
  DownStore down;
  handlers::Context ctx{down, f.settings, f.db, f.cache, f.clock};
  server::Request request;
  server::Response response;
  handlers::set_session(request, response, ctx);
  CHECK(response.status == 503);
  CHECK(response.body.find("Session ID") == std::string::npos);
}

TEST_CASE("pages: testMySQL says what the database answered") {
  Fixture f;
  CHECK(f.call(handlers::test_mysql).body == "<h1>connect success</h1>");
  f.db.up = false;
  CHECK(f.call(handlers::test_mysql).body == "<h1>connect MySQL failed</h1>");
  CHECK(f.db.pings == 2);
}

TEST_CASE("pages: the registry routes the three seed pages") {
  handlers::Router router;
  for (auto& r : handlers::builtin_routes()) router.add(r.script, r.handler);
  for (const char* page : {"/setSession.php", "/showSession.php", "/testMySQL.php", "/testMySQL"}) {
    server::Request req;
    req.set_param("SCRIPT_NAME", page);
    CHECK(router.find(req) != nullptr);
  }
}
