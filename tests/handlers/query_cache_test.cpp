// /queryCache.php?id=N in isolation: an in-process cache store and a
// scripted database. Bad ids are 400s, never 500s, and never reach SQL.
#include <catch2/catch.hpp>

#include <atomic>

#include "handlers/query_cache.h"
#include "session/memory_store.h"
#include "sql/cache_store.h"

using namespace cppfpm;

namespace {

struct Items final : sql::Database {
  std::atomic<int> queries{0};
  bool up = true;
  std::vector<sql::Params> seen;
  bool ping() override { return up; }
  sql::ResultSet query(std::string_view, const sql::Params& params) override {
    ++queries;
    seen.push_back(params);
    if (!up) throw sql::Unavailable("down");
    auto id = std::get<std::int64_t>(params.at(0));
    if (id > 10) return {};
    return {{"id", "name"}, {{std::to_string(id), "poster <A2> & frame"}}};
  }
};

struct Clock final : handlers::Clock {
  std::int64_t unix_now() const override { return 1795557203; }
};

struct Page {
  session::MemoryStore sessions;
  session::Settings settings;
  Items db;
  sql::MemoryCacheStore store;
  sql::CachedQueries cache{store, db};
  Clock clock;
  handlers::Context ctx{sessions, settings, db, cache, clock};

  server::Response get(const std::string& query) {
    server::Request request;
    request.set_param("SCRIPT_NAME", "/queryCache.php");
    request.set_param("QUERY_STRING", query);
    server::Response response;
    handlers::query_cache(request, response, ctx);
    return response;
  }
};

std::string header(const server::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST_CASE("queryCache page: MISS then HIT, with the row as an escaped table") {
  Page p;
  auto first = p.get("id=5");
  CHECK(first.status == 200);
  CHECK(header(first, "X-Cache") == "MISS");
  CHECK(first.body ==
        "<table><tr><th>id</th><td>5</td></tr><tr><th>name</th><td>poster &lt;A2&gt; &amp; "
        "frame</td></tr></table>");
  auto second = p.get("id=5");
  CHECK(header(second, "X-Cache") == "HIT");
  CHECK(second.body == first.body);
  CHECK(p.db.queries == 1);
  CHECK(header(p.get("id=005"), "X-Cache") == "HIT");  // the same id
  CHECK(header(p.get("x=1&id=%35"), "X-Cache") == "HIT");
}

TEST_CASE("queryCache page: a missing row is a 404") {
  Page p;
  auto r = p.get("id=11");
  CHECK(r.status == 404);
  CHECK(r.body.find("No item with id 11") != std::string::npos);
}

TEST_CASE("queryCache page: MariaDB down and nothing cached is a 503, cached ids still answer") {
  Page p;
  p.get("id=1");
  p.db.up = false;
  CHECK(p.get("id=1").status == 200);
  auto r = p.get("id=2");
  CHECK(r.status == 503);
  CHECK(r.body.find("database is unreachable") != std::string::npos);
}

TEST_CASE("queryCache page: memcached down is BYPASS") {
  Page p;
  p.store.down = true;
  auto r = p.get("id=3");
  CHECK(r.status == 200);
  CHECK(header(r, "X-Cache") == "BYPASS");
}

TEST_CASE("queryCache page: hostile and malformed ids are 400s that never reach MariaDB") {
  Page p;
  for (std::string query : {"",
                            "id",
                            "id=",
                            "ID=1",
                            "id=-1",
                            "id=0",
                            "id=+1",
                            "id=1.5",
                            "id=1e3",
                            "id=abc",
                            "id=1%20OR%201=1",
                            "id=1'%20OR%20'1'='1",
                            "id=1;DROP%20TABLE%20items",
                            "id=4294967296",
                            "id=99999999999999999999999999",
                            "id=%00",
                            "id=1%00",
                            "id=0x10",
                            "id=%2B1",
                            "id= 1",
                            "id=1 ",
                            "id=%E4%BD%A0",
                            "id[]=1",
                            "id=1&id=x"}) {
    INFO("QUERY_STRING " << query);
    auto r = p.get(query);
    CHECK(r.status == 400);
    CHECK(r.body.find("id must be a whole number from 1 to 4294967295") != std::string::npos);
  }
  CHECK(p.db.queries == 0);
  CHECK(p.get("id=4294967295").status == 404);  // the largest id is a fine question
  CHECK(p.get("id=x&id=2").status == 200);      // PHP's $_GET keeps the last one
}

TEST_CASE("queryCache page: the id reaches MariaDB as a bound integer") {
  Page p;
  p.get("id=7");
  REQUIRE(p.db.seen.size() == 1);
  CHECK(p.db.seen[0] == sql::Params{std::int64_t{7}});
}
