#include "sql/query_cache.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "sql/cache_key.h"
#include "sql/result_codec.h"

namespace cppfpm::sql {
namespace {

// A tag's first generation: the time in microseconds, so a tag whose key
// was evicted (or a restarted memcached) never comes back to a generation
// an old entry was stored under.
std::string first_generation() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return std::to_string(us.count());
}

// Removes the stampede lock on every path out of the runner's query.
class LockGuard {
 public:
  LockGuard(CacheStore& store, std::string key) : store_(store), key_(std::move(key)) {}
  ~LockGuard() { store_.remove(key_); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  CacheStore& store_;
  std::string key_;
};

std::string for_logs(std::string_view sql) {
  std::string text = normalise_sql(sql);
  if (text.size() > 120) text = text.substr(0, 120) + "...";
  return text;
}

}  // namespace

const char* cache_status_name(CacheStatus status) {
  switch (status) {
    case CacheStatus::hit:
      return "HIT";
    case CacheStatus::miss:
      return "MISS";
    case CacheStatus::bypass:
      return "BYPASS";
  }
  return "BYPASS";
}

CachedQueries::CachedQueries(CacheStore& store, Database& db, QueryCacheOptions options)
    : store_(store), db_(db), options_(std::move(options)) {}

bool CachedQueries::generations(const Tags& tags, TagGenerations& out) {
  for (const auto& tag : tags) {
    std::string key = tag_key(tag), value;
    CacheResult rc = store_.get(key, value);
    if (rc == CacheResult::not_found) {
      rc = store_.add(key, first_generation(), std::chrono::seconds(0));
      if (rc == CacheResult::ok || rc == CacheResult::not_stored) rc = store_.get(key, value);
    }
    if (rc != CacheResult::ok) return false;
    out.emplace_back(tag, std::move(value));
  }
  return true;
}

std::optional<ResultSet> CachedQueries::cached(const std::string& key, CacheResult& rc) {
  std::string bytes;
  rc = store_.get(key, bytes);
  if (rc != CacheResult::ok) return std::nullopt;
  auto result = decode_result(bytes);
  if (!result) {
    spdlog::warn("query cache: {} holds no result in format {}; treated as a miss", key,
                 int(kResultFormat));
    rc = CacheResult::not_found;
  }
  return result;
}

std::optional<ResultSet> CachedQueries::wait_for(const std::string& key) {
  const auto deadline = std::chrono::steady_clock::now() + options_.stampede_wait;
  const std::string lock = lock_key(key);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(options_.poll_interval);
    CacheResult rc;
    if (auto result = cached(key, rc)) return result;
    if (rc == CacheResult::unavailable) return std::nullopt;
    std::string ignored;
    if (store_.get(lock, ignored) == CacheResult::not_found) {
      // The runner is done: either its result is there now, or it failed.
      if (auto result = cached(key, rc)) return result;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void CachedQueries::store(const std::string& key, std::string_view sql, const ResultSet& result,
                          std::chrono::seconds ttl) {
  std::string bytes = encode_result(result);
  CacheResult rc =
      bytes.size() > store_.max_value_size() ? CacheResult::too_large : store_.set(key, bytes, ttl);
  if (rc != CacheResult::too_large) return;
  std::string statement = for_logs(sql);
  std::lock_guard lock(oversize_mutex_);
  if (oversize_logged_.size() < 1024 && oversize_logged_.insert(statement).second)
    spdlog::warn(
        "query cache: a result of {} bytes is over memcached's item size limit and is not cached: "
        "{}",
        bytes.size(), statement);
}

CachedResult CachedQueries::bypass(std::string_view sql, const Params& params) {
  return {db_.query(sql, params), CacheStatus::bypass};
}

CachedResult CachedQueries::query(std::string_view sql, const Params& params,
                                  std::chrono::seconds ttl, const Tags& tags) {
  if (ttl.count() <= 0) ttl = options_.default_ttl;
  TagGenerations gens;
  if (!generations(tags, gens)) return bypass(sql, params);
  const std::string key = query_key(sql, params, gens);

  CacheResult rc;
  if (auto hit = cached(key, rc)) return {std::move(*hit), CacheStatus::hit};
  if (rc == CacheResult::unavailable) return bypass(sql, params);

  // A miss. The lock outlives a stuck runner by one second at most.
  const auto lock_ttl = std::chrono::duration_cast<std::chrono::seconds>(options_.stampede_wait) +
                        std::chrono::seconds(1);
  rc = store_.add(lock_key(key), "1", lock_ttl);
  if (rc == CacheResult::unavailable) return bypass(sql, params);
  if (rc == CacheResult::not_stored) {
    if (auto shared = wait_for(key)) return {std::move(*shared), CacheStatus::hit};
    ResultSet result = db_.query(sql, params);
    store(key, sql, result, ttl);
    return {std::move(result), CacheStatus::miss};
  }
  LockGuard guard(store_, lock_key(key));
  // The previous runner may have stored its result and dropped the lock
  // between our miss and our add: look once more before asking MariaDB.
  if (auto late = cached(key, rc)) return {std::move(*late), CacheStatus::hit};
  ResultSet result = db_.query(sql, params);
  store(key, sql, result, ttl);
  return {std::move(result), CacheStatus::miss};
}

bool CachedQueries::invalidate(std::string_view tag) {
  const std::string key = tag_key(tag);
  std::uint64_t generation = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    CacheResult rc = store_.increment(key, generation);
    if (rc == CacheResult::ok) return true;
    if (rc == CacheResult::not_found) {
      // Nothing cached under this tag yet, or the counter was evicted: a
      // fresh generation differs from every earlier one.
      rc = store_.add(key, first_generation(), std::chrono::seconds(0));
      if (rc == CacheResult::ok) return true;
      if (rc == CacheResult::not_stored) continue;  // raced with a reader's add: bump that
    }
    if (rc == CacheResult::unavailable) break;
  }
  spdlog::error(
      "query cache: could not invalidate tag '{}' ({} unreachable); its cached results may be "
      "served "
      "until their ttl runs out",
      tag, options_.servers_for_logs);
  return false;
}

}  // namespace cppfpm::sql
