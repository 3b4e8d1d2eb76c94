// Only bound parameters reach MariaDB: hostile values go through the SOCI
// pool against the real server and come back as plain data, with the table
// and the server untouched.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "sql/soci_database.h"
#include "support/mariadb.h"

using namespace cppfpm;
using namespace cppfpm::test;

namespace {

const std::vector<std::string>& hostile_values() {
  static const std::vector<std::string> values = {
      "x'); DROP TABLE hostile_params; --",
      "' OR '1'='1",
      "\\' OR 1=1 -- ",
      "1; SHUTDOWN",
      "\"; DELETE FROM hostile_params; #",
      std::string("nul\0byte", 8),
      "back\\slash\\",
      ":v :id ? %s %d",
      "\xc0\x27 OR 1=1 -- ",  // an invalid UTF-8 lead byte before a quote
      std::string(4000, '\''),
      "/*comment*/ UNION SELECT user, password FROM mysql.user",
  };
  return values;
}

}  // namespace

TEST_CASE("sql: hostile bound values are stored and matched as data, never run", "[sql][hostile]") {
  const MariaDbEndpoint& server = shared_mariadb();
  const auto log = std::filesystem::temp_directory_path() / "cppfpm-hostile-params-sql.log";
  mariadb_execute(
      server,
      "CREATE DATABASE IF NOT EXISTS cppfpm_test; "
      "DROP TABLE IF EXISTS cppfpm_test.hostile_params; "
      "CREATE TABLE cppfpm_test.hostile_params (id INT AUTO_INCREMENT PRIMARY KEY, v LONGBLOB)",
      log);
  sql::DatabaseOptions options;
  options.dsn = mariadb_dsn(server.port) + " dbname=cppfpm_test";
  options.pool_size = 2;
  sql::SociDatabase db(options);

  for (const auto& value : hostile_values()) {
    INFO("value of " << value.size() << " bytes");
    db.query("INSERT INTO hostile_params (v) VALUES (:v)", {value});
    auto found = db.query("SELECT id, v FROM hostile_params WHERE v = :v", {value});
    REQUIRE(found.rows.size() == 1);
    REQUIRE(found.rows[0][1]);
    CHECK(*found.rows[0][1] == value);
  }
  auto all = db.query("SELECT COUNT(*) FROM hostile_params", {});
  REQUIRE(all.rows.size() == 1);
  CHECK(all.rows[0][0] == std::to_string(hostile_values().size()));
  // A hostile value where a number goes is refused by MariaDB or matches nothing.
  try {
    auto none = db.query("SELECT v FROM hostile_params WHERE id = :id", {std::string("1 OR 1=1")});
    CHECK(none.rows.size() <= 1);
  } catch (const sql::QueryError&) {
    SUCCEED("refused");
  }
  CHECK(db.ping());
  mariadb_execute(server, "DROP DATABASE cppfpm_test", log);
  std::filesystem::remove(log);
}
