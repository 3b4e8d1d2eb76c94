#pragma once
// The SQL seam handlers see. The production implementation is SOCI on
// MariaDB (sql/soci_database.h), a pool of connections borrowed per call.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cppfpm::sql {

// A bound parameter. Its type is part of a cached query's key: 1 and "1"
// are different parameters.
using Param = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
using Params = std::vector<Param>;

// A cell as text, as MariaDB's text protocol gives it; nullopt is NULL.
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

struct ResultSet {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  bool operator==(const ResultSet&) const = default;
};

// MariaDB cannot be reached (connect failed, connection lost, no free
// connection within sql.connect_timeout). The message never holds the
// password.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The server refused the statement (syntax, unknown table, ...).
struct QueryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Database {
 public:
  virtual ~Database() = default;
  // True when a connection answers a ping within the configured connect
  // timeout.
  virtual bool ping() = 0;
  // Runs `sql` with `params` bound in order to its placeholders (SOCI's
  // `:name` form, e.g. "SELECT name FROM t WHERE id = :id"). Values are
  // never spliced into the text by the caller. Throws Unavailable or
  // QueryError. The default, for test doubles that only ping, is
  // Unavailable.
  virtual ResultSet query(std::string_view sql, const Params& params);
};

}  // namespace cppfpm::sql
