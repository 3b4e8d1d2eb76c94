#pragma once
// The pool's own pages: pm.status_path (php-fpm's status page, from the
// scoreboard) and ping.path. Served from the event loop thread so they
// answer even when every worker thread is busy.
#include <string>
#include <string_view>

#include "pool/config.h"
#include "pool/scoreboard.h"
#include "server/fastcgi/request.h"
#include "server/fastcgi/response.h"

namespace cppfpm::server {

class PoolPages {
 public:
  PoolPages(const pool::PoolConfig& config, pool::Scoreboard* board, int listen_fd);
  bool is_pool_page(std::string_view script) const;
  // Fills `response` and returns true when `request` is for a pool page.
  bool serve(const Request& request, Response& response) const;

 private:
  const pool::PoolConfig& config_;
  pool::Scoreboard* board_;
  int listen_fd_;
};

}  // namespace cppfpm::server
