#pragma once
// SOCI on MariaDB (mysql backend over mariadb-connector-c): a pool of
// sql.pool_size connections per child, borrowed for one call and given back
// on every path. A connection found broken is reopened, so after a MariaDB
// restart only the calls in flight at that moment fail.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "sql/connection_pool.h"
#include "sql/database.h"
#include "sql/server_list.h"

namespace cppfpm::sql {

struct DatabaseOptions {
  std::string dsn = "mysql://host=127.0.0.1 port=3306 user=phpUser password=phpPass";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  int pool_size = 8;
  std::chrono::milliseconds idle_check{5000};
  // sql.servers: when set, the dsn's host and port are replaced by each of
  // these in turn (sql/server_list.h); its user, password and the rest stay.
  std::vector<ServerAddress> servers;
};

// "mysql://host=h port=p ..." -> SOCI's mysql connection string with the
// timeouts added (MYSQL_OPT_CONNECT_TIMEOUT & co. take whole seconds).
std::string mysql_connect_string(const DatabaseOptions& options);
// The pool's options: one connect string per server of options.servers.
PoolOptions pool_options(const DatabaseOptions& options);
// The DSN with its password replaced, for logs.
std::string redact_password(std::string_view text);

class SociDatabase final : public Database {
 public:
  explicit SociDatabase(DatabaseOptions options);
  ~SociDatabase() override;
  bool ping() override;
  ResultSet query(std::string_view sql, const Params& params) override;

  ConnectionPool& pool() { return pool_; }

 private:
  DatabaseOptions options_;
  ConnectionPool pool_;
};

}  // namespace cppfpm::sql
