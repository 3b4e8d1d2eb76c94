#include "server/pool_pages.h"

#include "pool/status.h"

namespace cppfpm::server {

PoolPages::PoolPages(const pool::PoolConfig& config, pool::Scoreboard* board, int listen_fd)
    : config_(config), board_(board), listen_fd_(listen_fd) {}

bool PoolPages::is_pool_page(std::string_view script) const {
  return (!config_.pm_status_path.empty() && script == config_.pm_status_path) ||
         (!config_.ping_path.empty() && script == config_.ping_path);
}

bool PoolPages::serve(const Request& request, Response& response) const {
  std::string script(request.script_name());
  if (!config_.ping_path.empty() && script == config_.ping_path) {
    // php-fpm's ping answer and headers (fpm_status.c).
    response.add_header("Content-Type", "text/plain");
    response.add_header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
    response.add_header("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
    response.body = config_.ping_response;
    return true;
  }
  if (config_.pm_status_path.empty() || script != config_.pm_status_path) return false;
  response.add_header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
  response.add_header("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
  if (!board_) {
    response.status = 503;
    response.body = "status is not available\n";
    return true;
  }
  pool::StatusQuery query = pool::parse_status_query(request.query_string());
  pool::StatusSnapshot snapshot =
      pool::take_snapshot(*board_, config_.name, pool::to_string(config_.pm), listen_fd_);
  std::string content_type;
  response.body = pool::render_status(snapshot, query, content_type);
  response.add_header("Content-Type", content_type);
  return true;
}

}  // namespace cppfpm::server
