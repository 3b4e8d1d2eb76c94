#pragma once
// Shared by the query_cache_*_test.cpp suites: the demo schema loaded from
// deploy/sql/, a GET of /queryCache.php, SQL answers read back as text.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/fcgi_client.h"
#include "support/mariadb.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace cppfpm::test::query_cache {

// Every deploy/sql/*.sql, in name order, as deploy/lemmp loads them.
inline void load_demo_sql(const MariaDbEndpoint& server, const std::filesystem::path& log) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(CPPFPM_SOURCE_DIR) / "deploy/sql"))
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) mariadb_execute(server, read_file(file), log);
}

// One value: the first column of the first row of `sql`, run as root.
inline std::string sql_value(const MariaDbEndpoint& server, const std::string& sql,
                             const std::filesystem::path& dir) {
  auto log = dir / "sql-value.out";
  std::filesystem::remove(log);
  std::vector<std::string> argv{
      "mariadb", "--no-defaults",       "--user=root",     "--socket=" + server.socket.string(),
      "--batch", "--skip-column-names", "--execute=" + sql};
  if (run_command(argv, log, 30s) != 0)
    throw std::runtime_error("mariadb failed: " + read_file(log));
  std::string out = read_file(log);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

inline FcgiResponse get_item(int port, const std::string& query, Millis timeout = 20s) {
  FcgiClient client(port);
  auto r = client.request(nginx_params("/queryCache.php", {}, query), {}, false, 1, timeout);
  return r;
}

inline std::string x_cache(const FcgiResponse& r) {
  return r.header("X-Cache").value_or("(none)");
}

// The tag generation key of sql/cache_key.h: another backend's invalidate()
// is a new value there.
inline constexpr const char* kItemsTagKey = "cppfpm:qt:items";

}  // namespace cppfpm::test::query_cache
