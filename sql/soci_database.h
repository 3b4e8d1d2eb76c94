#pragma once
// SOCI on MariaDB (mysql backend over mariadb-connector-c). One connection
// per worker thread, opened on first use and reused; a broken one is
// reopened on the next call.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <tbb/enumerable_thread_specific.h>

#include "sql/database.h"

namespace soci {
class session;
}

namespace cppfpm::sql {

struct DatabaseOptions {
  std::string dsn = "mysql://host=127.0.0.1 port=3306 user=phpUser password=phpPass";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
};

// "mysql://host=h port=p ..." -> SOCI's mysql connection string with the
// timeouts added (MYSQL_OPT_CONNECT_TIMEOUT & co. take whole seconds).
std::string mysql_connect_string(const DatabaseOptions& options);
// The DSN with its password replaced, for logs.
std::string redact_password(std::string_view text);

class SociDatabase final : public Database {
 public:
  explicit SociDatabase(DatabaseOptions options);
  ~SociDatabase() override;
  bool ping() override;

 private:
  soci::session* connect();

  DatabaseOptions options_;
  std::string connect_string_;
  tbb::enumerable_thread_specific<std::unique_ptr<soci::session>> sessions_;
  std::atomic<bool> down_{false};  // logs once per outage, not per request
};

}  // namespace cppfpm::sql
