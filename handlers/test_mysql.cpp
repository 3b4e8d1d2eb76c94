// The seed's testMySQL.php: connect to MariaDB and say whether it worked.
#include "handlers/handler.h"

namespace cppfpm::handlers {

void test_mysql(const server::Request&, server::Response& response, Context& ctx) {
  response.write(ctx.db.ping() ? "<h1>connect success</h1>" : "<h1>connect MySQL failed</h1>");
}

}  // namespace cppfpm::handlers
