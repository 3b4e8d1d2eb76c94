#include "server/pool_pages.h"

#include "pool/status.h"

namespace cppfpm::server {
namespace {

// PHP's SAPI rewrites a text/* Content-Type: the name becomes "Content-type"
// and default_charset is appended with no space (sapi_apply_default_charset);
// other types keep the header as the page wrote it. php-fpm's pages go
// through it, so `text/plain;charset=UTF-8` but `application/json`.
void add_content_type(Response& response, const std::string& mime) {
  if (mime.starts_with("text/") && mime.find("charset") == std::string::npos) {
    response.add_header("Content-type", mime);
    response.headers.back().second += ";charset=UTF-8";  // no temporary string
  } else {
    response.add_header("Content-Type", mime);
  }
}

void add_no_cache(Response& response) {
  response.add_header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
  response.add_header("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
}

}  // namespace

PoolPages::PoolPages(const pool::PoolConfig& config, pool::Scoreboard* board, int listen_fd)
    : config_(config), board_(board), listen_fd_(listen_fd) {}

bool PoolPages::is_pool_page(std::string_view script) const {
  return (!config_.pm_status_path.empty() && script == config_.pm_status_path) ||
         (!config_.ping_path.empty() && script == config_.ping_path);
}

bool PoolPages::serve(const Request& request, Response& response) const {
  std::string script(request.script_name());
  // php-fpm answers HEAD on both pages with the headers alone (fpm_status.c).
  const bool head = request.method() == "HEAD";
  if (!config_.ping_path.empty() && script == config_.ping_path) {
    add_content_type(response, "text/plain");
    add_no_cache(response);
    if (!head) response.body = config_.ping_response;
    return true;
  }
  if (config_.pm_status_path.empty() || script != config_.pm_status_path) return false;
  add_no_cache(response);
  // php-fpm returns before choosing a format, so PHP's default
  // `Content-type: text/html; charset=UTF-8` follows (added by to_cgi).
  if (head) return true;
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
  add_content_type(response, content_type);
  return true;
}

}  // namespace cppfpm::server
