#pragma once
// What a handler may use besides its request: sessions, SQL, time. All
// interfaces, so a handler is unit-tested with an in-process store and a
// fixed clock.
#include <cstdint>

#include "session/settings.h"
#include "session/store.h"
#include "sql/database.h"
#include "sql/query_cache.h"

namespace cppfpm::handlers {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t unix_now() const = 0;  // seconds since the epoch, as PHP's time()
};

class SystemClock final : public Clock {
 public:
  std::int64_t unix_now() const override;
};

struct Context {
  session::SessionStore& sessions;
  const session::Settings& session_settings;
  sql::Database& db;
  sql::QueryCache& cache;  // query results in memcached (sql/query_cache.h)
  const Clock& clock;
};

}  // namespace cppfpm::handlers
