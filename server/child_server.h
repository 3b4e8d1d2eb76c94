#pragma once
// A child serving its pool: the event loop's host, admission wired to the
// scoreboard, the worker threads, the watchdog, and the child's signals.
// Each exchange is observed here (scoreboard slots, access log).
#include <string_view>

#include "pool/children.h"
#include "pool/config.h"
#include "server/access_log.h"
#include "server/fastcgi/admission.h"
#include "server/fastcgi/event_loop.h"
#include "server/fastcgi/fcgi_exchange.h"
#include "server/fastcgi/fd.h"
#include "server/fastcgi/worker_pool.h"
#include "server/pool_pages.h"
#include "server/watchdog.h"

namespace cppfpm::server {

class ChildServer final : public LoopHost {
 public:
  // `signals`: a signalfd for the child's signals (see run_child). `handle`
  // serves every request of the pool's socket; `pages` the pool's own pages.
  ChildServer(const pool::PoolConfig& pool, int listen_fd, const pool::ChildIdentity& id,
              Fd signals, const PoolPages& pages, RequestHandler handle);
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  // Serves until SIGQUIT or pm.max_requests (returns 0 once the requests in
  // flight are done) or SIGTERM/SIGINT (exits at once, as php-fpm does).
  int run();

  // LoopHost, from the loop thread.
  void dispatch(Connection* connection) override;
  bool is_inline(std::string_view script) override;
  void serve_inline(Connection* connection) override;
  void accepted() override;
  void tick() override;
  void readable(int fd) override;

 private:
  // On worker thread `index`: one request, then the accounting.
  void serve_on_worker(Connection* connection, int index);
  // One exchange on `connection` with `handler`; `index` is the worker
  // slot, -1 for the loop thread. True when the thread was abandoned
  // meanwhile (request_terminate_timeout).
  bool exchange(Connection* connection, int index, const RequestHandler& handler);
  void read_signals();
  // At pm.max_children, and every other child's threads busy (scoreboard).
  bool pool_saturated() const;
  // pm.max_memory: past it, the child finishes its requests and exits.
  void check_memory();

  const pool::PoolConfig& pool_;
  const pool::ChildIdentity id_;
  const PoolPages& pages_;
  RequestHandler handle_;
  RequestHandler pages_only_;
  AccessLog access_log_;
  Fd signals_;
  Admission admission_;
  EventLoop loop_;
  WorkerPool workers_;
  Watchdog watchdog_;
  bool recycling_for_memory_ = false;
};

}  // namespace cppfpm::server
