// The query cache over an in-process store and a scripted database: hits,
// expiry, tag generations, stampede protection, memcached or MariaDB down.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "sql/cache_key.h"
#include "sql/query_cache.h"

using namespace cppfpm::sql;
using namespace std::chrono_literals;

namespace {

struct ScriptedDatabase final : Database {
  std::atomic<int> queries{0};
  std::atomic<bool> up{true};
  std::atomic<bool> broken{false};  // QueryError
  std::chrono::milliseconds delay{0};
  std::string name = "first";

  bool ping() override { return up; }
  ResultSet query(std::string_view, const Params& params) override {
    ++queries;
    if (delay.count()) std::this_thread::sleep_for(delay);
    if (!up) throw Unavailable("MariaDB unreachable: test");
    if (broken) throw QueryError("You have an error in your SQL syntax");
    std::string id = params.empty() ? "" : std::to_string(std::get<std::int64_t>(params[0]));
    return ResultSet{{"id", "name"}, {{id, name}}};
  }
};

struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
};

constexpr const char* kSql = "SELECT id, name FROM items WHERE id = :id";

struct Fixture {
  ManualClock clock;
  MemoryCacheStore store{[this] { return clock.now; }};
  ScriptedDatabase db;
  CachedQueries cache{store, db, QueryCacheOptions{60s, 500ms, 5ms, "test"}};

  CachedResult get(std::int64_t id, const Tags& tags = {"items"}, std::chrono::seconds ttl = {}) {
    return cache.query(kSql, {id}, ttl, tags);
  }
};

}  // namespace

TEST_CASE("query cache: a miss runs the query, the next call hits without MariaDB") {
  Fixture f;
  auto first = f.get(1);
  CHECK(first.status == CacheStatus::miss);
  CHECK(first.result.rows.at(0).at(1) == "first");
  auto second = f.get(1);
  CHECK(second.status == CacheStatus::hit);
  CHECK(second.result == first.result);
  CHECK(f.db.queries == 1);
  CHECK(f.get(2).status == CacheStatus::miss);  // other parameters, other key
  CHECK(f.db.queries == 2);
  CHECK(f.store.size() == 3);  // the tag, two results; no lock left behind
}

TEST_CASE("query cache: an entry expires after its ttl (cache.ttl by default)") {
  Fixture f;
  CHECK(f.get(1, {}, 10s).status == CacheStatus::miss);
  f.clock.now += 9s;
  CHECK(f.get(1, {}, 10s).status == CacheStatus::hit);
  f.clock.now += 2s;
  CHECK(f.get(1, {}, 10s).status == CacheStatus::miss);
  CHECK(f.get(3).status == CacheStatus::miss);
  f.clock.now += 59s;
  CHECK(f.get(3).status == CacheStatus::hit);
  f.clock.now += 2s;
  CHECK(f.get(3).status == CacheStatus::miss);
}

TEST_CASE("query cache: invalidating a tag makes its queries miss, and only those") {
  Fixture f;
  f.get(1, {"items"});
  f.get(2, {"items", "prices"});
  f.get(3, {"users"});
  f.get(4, {});
  CHECK(f.get(1, {"items"}).status == CacheStatus::hit);
  f.db.name = "second";
  CHECK(f.cache.invalidate("items"));
  auto after = f.get(1, {"items"});
  CHECK(after.status == CacheStatus::miss);
  CHECK(after.result.rows[0][1] == "second");
  CHECK(f.get(2, {"items", "prices"}).status == CacheStatus::miss);
  CHECK(f.get(3, {"users"}).status == CacheStatus::hit);
  CHECK(f.get(4, {}).status == CacheStatus::hit);
  CHECK(f.get(1, {"items"}).status == CacheStatus::hit);
}

TEST_CASE(
    "query cache: tag generations are counters in the store, read before the key is derived") {
  Fixture f;
  std::string gen;
  CHECK(f.store.get(tag_key("items"), gen) == CacheResult::not_found);
  f.get(1);
  REQUIRE(f.store.get(tag_key("items"), gen) == CacheResult::ok);
  std::string key = query_key(kSql, {std::int64_t{1}}, {{"items", gen}});
  std::string value;
  CHECK(f.store.get(key, value) == CacheResult::ok);
  f.cache.invalidate("items");
  std::string bumped;
  REQUIRE(f.store.get(tag_key("items"), bumped) == CacheResult::ok);
  CHECK(std::stoull(bumped) == std::stoull(gen) + 1);
  // Another backend bumping the tag (any new value) is seen at once.
  f.get(1);
  CHECK(f.get(1).status == CacheStatus::hit);
  f.store.set(tag_key("items"), "written-by-another-backend", 0s);
  CHECK(f.get(1).status == CacheStatus::miss);
}

TEST_CASE("query cache: invalidating a tag nobody read yet, or after it was evicted") {
  Fixture f;
  CHECK(f.cache.invalidate("fresh"));
  f.get(1, {"fresh"});
  CHECK(f.get(1, {"fresh"}).status == CacheStatus::hit);
  f.store.remove(tag_key("fresh"));  // evicted
  CHECK(f.get(1, {"fresh"}).status == CacheStatus::miss);
}

TEST_CASE("query cache: concurrent misses on one key run the query once") {
  Fixture f;
  f.db.delay = 100ms;
  std::atomic<int> hits{0}, misses{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&] {
      auto r = f.get(7);
      (r.status == CacheStatus::hit ? hits : misses)++;
      // Counted, checked below: Catch2's assertions are not for other threads.
      if (r.result.rows.at(0).at(0) != "7") ++wrong;
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
  CHECK(f.db.queries == 1);
  CHECK(misses == 1);
  CHECK(hits == 19);
}

TEST_CASE("query cache: waiters stop waiting after the bound and query themselves") {
  Fixture f;  // stampede_wait 500 ms
  f.db.delay = 1500ms;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<std::chrono::milliseconds> took(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      if (i > 0) std::this_thread::sleep_for(50ms);  // thread 0 is the runner
      f.get(9);
      took[i] = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    });
  for (auto& t : threads) t.join();
  CHECK(f.db.queries == 4);
  for (int i = 1; i < 4; ++i)
    CHECK(took[i] < 2500ms);  // 50 ms + 500 ms wait + 1500 ms query, no more
}

TEST_CASE("query cache: a failed runner releases its lock and waiters do not wait it out") {
  Fixture f;
  f.db.up = false;
  CHECK_THROWS_AS(f.get(5), Unavailable);
  f.db.up = true;
  auto start = std::chrono::steady_clock::now();
  CHECK(f.get(5).status == CacheStatus::miss);
  CHECK(std::chrono::steady_clock::now() - start < 400ms);
  f.db.broken = true;
  CHECK_THROWS_AS(f.get(6), QueryError);
  f.db.broken = false;
  CHECK(f.get(6).status == CacheStatus::miss);
}

TEST_CASE(
    "query cache: memcached unreachable means BYPASS straight to MariaDB, then HIT once it is "
    "back") {
  Fixture f;
  f.get(1);
  f.store.down = true;
  for (int i = 0; i < 3; ++i) {
    auto r = f.get(1);
    CHECK(r.status == CacheStatus::bypass);
    CHECK(r.result.rows.at(0).at(0) == "1");
  }
  CHECK(f.db.queries == 4);
  CHECK_FALSE(f.cache.invalidate("items"));
  f.store.down = false;
  CHECK(f.get(1).status == CacheStatus::hit);
}

TEST_CASE("query cache: MariaDB down, cached entries still hit, others throw Unavailable") {
  Fixture f;
  f.get(1);
  f.db.up = false;
  CHECK(f.get(1).status == CacheStatus::hit);
  CHECK_THROWS_AS(f.get(2), Unavailable);
  f.db.up = true;
  CHECK(f.get(2).status == CacheStatus::miss);
}

TEST_CASE("query cache: a result over the item size limit is served but not cached") {
  ManualClock clock;
  MemoryCacheStore store{[&] { return clock.now; }, 16};
  ScriptedDatabase db;
  db.name = std::string(100, 'n');
  CachedQueries cache{store, db};
  CHECK(cache.query(kSql, {std::int64_t{1}}).status == CacheStatus::miss);
  CHECK(cache.query(kSql, {std::int64_t{1}}).status == CacheStatus::miss);
  CHECK(db.queries == 2);
}

TEST_CASE("query cache: a corrupt value is a miss and is replaced") {
  Fixture f;
  f.get(1, {});
  std::string key = query_key(kSql, {std::int64_t{1}}, {});
  f.store.set(key, "garbage", 0s);
  CHECK(f.get(1, {}).status == CacheStatus::miss);
  CHECK(f.get(1, {}).status == CacheStatus::hit);
}

TEST_CASE("query cache: UncachedQueries always asks MariaDB") {
  ScriptedDatabase db;
  UncachedQueries cache(db);
  CHECK(cache.query(kSql, {std::int64_t{1}}).status == CacheStatus::bypass);
  CHECK(cache.query(kSql, {std::int64_t{1}}).status == CacheStatus::bypass);
  CHECK(db.queries == 2);
  CHECK(std::string(cache_status_name(CacheStatus::hit)) == "HIT");
  CHECK(std::string(cache_status_name(CacheStatus::miss)) == "MISS");
  CHECK(std::string(cache_status_name(CacheStatus::bypass)) == "BYPASS");
}
