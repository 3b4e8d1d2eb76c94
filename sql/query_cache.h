#pragma once
// Query results cached in memcached, for handlers:
//
//   auto r = ctx.cache.query("SELECT name FROM shop.items WHERE id = :id",
//                            {std::int64_t{id}}, 30s, {"items"});
//   ... r.result.rows, r.status (hit / miss / bypass) ...
//   ctx.cache.invalidate("items");   // after writing to shop.items
//
// - Key: normalised SQL + typed params + the generations of the query's
//   tags, hashed (sql/cache_key.h). Value: sql/result_codec.h.
// - Invalidation: invalidate(tag) bumps the tag's generation, so every key
//   derived from the old one is never read again (memcached evicts it);
//   nothing is scanned.
// - Stampede: on a miss one caller per key (across threads, children and
//   backends: a memcached `add` lock) runs the query; the others poll for
//   its result up to `stampede_wait`, then run the query themselves.
// - memcached unreachable: the query goes to MariaDB, status bypass; the
//   store logs the outage, once per pool. MariaDB down: cached results
//   still hit; a miss throws Unavailable.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sql/cache_store.h"
#include "sql/database.h"

namespace cppfpm::sql {

enum class CacheStatus { hit, miss, bypass };
// "HIT", "MISS", "BYPASS": the X-Cache header's values.
const char* cache_status_name(CacheStatus status);

struct CachedResult {
  ResultSet result;
  CacheStatus status = CacheStatus::miss;
};

using Tags = std::vector<std::string>;

class QueryCache {
 public:
  virtual ~QueryCache() = default;
  // Rows of `sql` with `params` bound (Database::query's rules). ttl 0
  // means cache.ttl. Throws what Database::query throws when it has to ask
  // MariaDB.
  virtual CachedResult query(std::string_view sql, const Params& params,
                             std::chrono::seconds ttl = {}, const Tags& tags = {}) = 0;
  // Makes every cached query tagged `tag` miss from now on. False when the
  // cache could not be told (memcached down): those entries may then be
  // served until their ttl runs out, and the log says so.
  virtual bool invalidate(std::string_view tag) = 0;
};

struct QueryCacheOptions {
  std::chrono::seconds default_ttl{60};           // cache.ttl
  std::chrono::milliseconds stampede_wait{2000};  // a waiter's bound
  std::chrono::milliseconds poll_interval{10};
  std::string servers_for_logs = "cache.servers";
};

class CachedQueries final : public QueryCache {
 public:
  CachedQueries(CacheStore& store, Database& db, QueryCacheOptions options = {});
  CachedResult query(std::string_view sql, const Params& params, std::chrono::seconds ttl = {},
                     const Tags& tags = {}) override;
  bool invalidate(std::string_view tag) override;

 private:
  bool generations(const Tags& tags, std::vector<std::pair<std::string, std::string>>& out);
  std::optional<ResultSet> cached(const std::string& key, CacheResult& rc);
  std::optional<ResultSet> wait_for(const std::string& key);
  void store(const std::string& key, std::string_view sql, const ResultSet& result,
             std::chrono::seconds ttl);
  CachedResult bypass(std::string_view sql, const Params& params);

  CacheStore& store_;
  Database& db_;
  QueryCacheOptions options_;
  std::mutex oversize_mutex_;
  std::unordered_set<std::string> oversize_logged_;
};

// No cache at all: every query goes to MariaDB as a bypass.
class UncachedQueries final : public QueryCache {
 public:
  explicit UncachedQueries(Database& db) : db_(db) {}
  CachedResult query(std::string_view sql, const Params& params, std::chrono::seconds = {},
                     const Tags& = {}) override {
    return {db_.query(sql, params), CacheStatus::bypass};
  }
  bool invalidate(std::string_view) override { return true; }

 private:
  Database& db_;
};

}  // namespace cppfpm::sql
