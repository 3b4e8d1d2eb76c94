#pragma once
// A private MariaDB server in a temp datadir, with the seed's account
// phpUser/phpPass; and the one server a whole ctest run shares.
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "support/process.h"

namespace cppfpm::test {

struct MariaDbEndpoint {
  int port = 0;
  std::filesystem::path socket;
  pid_t pid = -1;
};

class MariaDb {
 public:
  // mariadb-install-db into `dir`/data, mariadbd on 127.0.0.1:port (a free
  // one when 0) with grants enforced, then phpUser@127.0.0.1 and
  // phpUser@localhost identified by 'phpPass', then deploy/sql/*.sql.
  // Throws with the server log when that fails. `outlive_starter` keeps the server alive if the
  // starting process dies (for a CTest fixture).
  explicit MariaDb(const std::filesystem::path& dir, int port = 0, bool outlive_starter = false);
  ~MariaDb();
  MariaDb(const MariaDb&) = delete;
  MariaDb& operator=(const MariaDb&) = delete;

  MariaDbEndpoint endpoint() const;
  // Runs SQL as root over the socket; throws with the client's output on failure.
  void execute_sql(std::string_view sql) const;
  // Loads deploy/sql/*.sql (the demo schema the pages read), as deploy/lemmp does.
  void load_demo_sql() const;
  void stop();
  // Leaves the server running after this object is gone.
  MariaDbEndpoint release();
  std::string log() const;

 private:
  std::filesystem::path dir_;
  int port_;
  std::filesystem::path socket_;
  std::unique_ptr<Process> process_;
};

// Runs SQL as root over the server's socket; throws on failure.
void mariadb_execute(const MariaDbEndpoint& server, std::string_view sql,
                     const std::filesystem::path& log);

// Stops a server started elsewhere (SIGTERM, then SIGKILL after 15 s).
void stop_mariadb(const MariaDbEndpoint& server);

void save_endpoint(const std::filesystem::path& file, const MariaDbEndpoint& server);
std::optional<MariaDbEndpoint> load_endpoint(const std::filesystem::path& file);

// The server every test of this ctest run shares: the one the CTest fixture
// started (env CPPFPM_TEST_MARIADB names its endpoint file), or else one
// started on first use for this process and stopped when it exits.
const MariaDbEndpoint& shared_mariadb();

// A SOCI connection string as cppfpm's `sql.dsn` takes it.
std::string mariadb_dsn(int port, std::string_view user = "phpUser",
                        std::string_view password = "phpPass");

}  // namespace cppfpm::test
