#include "server/child.h"

#include <sys/signalfd.h>

#include <atomic>
#include <csignal>
#include <memory>

#include <spdlog/spdlog.h>

#include "server/event_loop.h"
#include "server/fcgi_exchange.h"
#include "server/log.h"
#include "server/router.h"
#include "server/worker_pool.h"
#include "session/memcached_store.h"
#include "session/memory_store.h"
#include "sql/soci_database.h"

namespace cppfpm::server {
namespace {

std::unique_ptr<session::SessionStore> make_session_store(const pool::PoolConfig& pool) {
  if (pool.session_save_handler == "memory") return std::make_unique<session::MemoryStore>();
  return std::make_unique<session::MemcachedStore>(pool.session_save_path);
}

// php-fpm's ping page headers (fpm_status.c).
handlers::Handler ping_handler(std::string answer) {
  return [answer](const Request&, Response& response, handlers::Context&) {
    response.add_header("Content-Type", "text/plain");
    response.add_header("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
    response.add_header("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
    response.body = answer;
  };
}

Fd child_signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals are read from the signalfd by the loop thread only.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

}  // namespace

int run_child(const pool::PoolConfig& pool, int listen_fd, const std::vector<handlers::Route>& routes) {
  Fd signals = child_signal_fd();
  init_fastcgi();

  auto store = make_session_store(pool);
  sql::SociDatabase db(sql::DatabaseOptions{pool.sql_dsn, pool.sql_connect_timeout, std::chrono::milliseconds(5000)});
  handlers::SystemClock clock;
  handlers::Context context{*store, pool.session, db, clock};

  Router router;
  for (const auto& r : routes) router.add(r.script, r.handler);
  if (!pool.ping_path.empty()) router.add(pool.ping_path, ping_handler(pool.ping_response));

  EventLoop loop(listen_fd, ClientFilter(pool.listen_allowed_clients), LoopOptions{});
  std::atomic<long> served{0};
  const long max_requests = pool.pm_max_requests;

  RequestHandler handle = [&](const Request& request, Response& response) {
    const handlers::Handler* h = router.find(request);
    if (!h) return Router::not_found(response);
    handlers::Context ctx = context;
    (*h)(request, response, ctx);
  };
  WorkerPool workers(pool.threads_per_child, [&](Connection* c) {
    AfterExchange after = serve_fcgi_request(c->fd.get(), handle, ExchangeLimits{});
    if (after == AfterExchange::closed) {
      c->fd.release();  // libfcgi closed it
      loop.release(c);
    } else {
      loop.rearm(c);
    }
    // pm.max_requests: finish what is in flight, exit, the master replaces us.
    if (max_requests > 0 && served.fetch_add(1) + 1 == max_requests) loop.stop_gracefully();
  });
  loop.on_dispatch([&](Connection* c) { workers.submit(c); });
  loop.watch(signals.get(), [&] {
    signalfd_siginfo info{};
    while (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
      switch (info.ssi_signo) {
        case SIGQUIT: loop.stop_gracefully(); break;
        case SIGUSR1: reopen_logs(); break;
        case SIGUSR2: break;  // the master reloads; children ignore it
        default: loop.stop_now(); break;
      }
    }
  });
  loop.run();
  if (loop.stopped_now()) {
    // Fast stop: requests in flight are abandoned, as php-fpm's SIGTERM does.
    spdlog::default_logger()->flush();
    ::_exit(0);
  }
  workers.stop();
  return 0;
}

}  // namespace cppfpm::server
