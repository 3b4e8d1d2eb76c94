#pragma once
// The SQL seam handlers see. The production implementation is SOCI on
// MariaDB (sql/soci_database.h).
#include <string>

namespace cppfpm::sql {

class Database {
 public:
  virtual ~Database() = default;
  // True when a connection for this thread is open and answers a ping,
  // within the configured connect timeout.
  virtual bool ping() = 0;
};

}  // namespace cppfpm::sql
