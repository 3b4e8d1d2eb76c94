#include "server/child.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>

#include <spdlog/spdlog.h>

#include "server/access_log.h"
#include "server/fastcgi/event_loop.h"
#include "server/fastcgi/fcgi_exchange.h"
#include "server/log.h"
#include "server/pool_pages.h"
#include "handlers/router.h"
#include "server/watchdog.h"
#include "server/fastcgi/worker_pool.h"
#include "session/memcached_store.h"
#include "session/memory_store.h"
#include "sql/memcached_cache_store.h"
#include "sql/query_cache.h"
#include "sql/soci_database.h"

namespace cppfpm::server {
namespace {

std::unique_ptr<session::SessionStore> make_session_store(const pool::PoolConfig& pool) {
  if (pool.session_save_handler == "memory") return std::make_unique<session::MemoryStore>();
  return std::make_unique<session::MemcachedStore>(
      memcached::parse_save_path(pool.session_save_path),
      session::MemcachedOptions{
          .timeouts = {.call = pool.session.memcached_timeout},
          .replicas = pool.session.replicas,
          .compress_threshold = pool.session.lock_key_style == "memcached"
                                    ? 0
                                    : static_cast<std::size_t>(pool.session.compress_threshold)});
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

// What a page writes to stdout or stderr goes to the master, which logs it
// line by line (catch_workers_output), or to /dev/null, as php-fpm does;
// never to a FastCGI stream. The child's own log keeps its destination.
void redirect_page_output(const pool::WorkerOutputEnds& ends) {
  keep_log_off_stdio();
  bool caught = ends.stdout_fd >= 0 && ends.stderr_fd >= 0;
  int out = caught ? ends.stdout_fd : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  int err = caught ? ends.stderr_fd : out;
  if (out < 0) return;
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  ::close(out);
  if (err != out) ::close(err);
}

}  // namespace

int run_child(const pool::PoolConfig& pool, int listen_fd, const pool::ChildIdentity& id,
              const std::vector<handlers::Route>& routes) {
  Fd signals = child_signal_fd();
  redirect_page_output(id.output);
  init_fastcgi();
  Watchdog::install_stack_capture();

  auto store = make_session_store(pool);
  sql::SociDatabase db(sql::DatabaseOptions{pool.sql_dsn, pool.sql_connect_timeout, pool.sql_read_timeout,
                                            pool.sql_write_timeout, pool.effective_sql_pool_size()});
  sql::MemcachedCacheStore cache_store(memcached::parse_save_path(pool.effective_cache_servers()));
  sql::CachedQueries cache(cache_store, db, sql::QueryCacheOptions{.default_ttl = pool.cache_ttl});
  handlers::SystemClock clock;
  handlers::Context context{*store, pool.session, db, cache, clock};
  AccessLog access_log(pool.access_log, pool.access_format);

  handlers::Router router;
  for (const auto& r : routes) router.add(r.script, r.handler);
  PoolPages pool_pages(pool, id.board, listen_fd);

  LoopOptions loop_options;
  loop_options.max_conns = pool.pm_max_children * pool.threads_per_child;
  loop_options.max_reqs = loop_options.max_conns;
  EventLoop loop(listen_fd, ClientFilter(pool.listen_allowed_clients), loop_options);
  std::atomic<int> in_flight{0};
  std::atomic<long> served{0};
  const long max_requests = pool.pm_max_requests;
  const int threads = pool.threads_per_child;

  RequestHandler handle = [&](const Request& request, Response& response) {
    if (pool_pages.serve(request, response)) return;
    const handlers::Handler* h = router.find(request);
    if (!h) return handlers::Router::not_found(response);
    handlers::Context ctx = context;
    (*h)(request, response, ctx);
  };

  // pm.status_listen answers the pool's own pages and nothing else.
  RequestHandler pages_only = [&](const Request& request, Response& response) {
    if (!pool_pages.serve(request, response)) handlers::Router::not_found(response);
  };
  // One exchange on `c` with `handler`; `index` is the worker slot, -1 for
  // the loop thread.
  auto exchange = [&](Connection* c, WorkerPool::Slot* slot, int index, const RequestHandler& handler) {
    std::int64_t start = pool::now_us();
    bool began = false;
    auto started = [&](const Request& request) {
      began = true;
      if (id.board && index >= 0)
        id.board->request_started(id.slot, index, start, std::string(request.method()),
                                  std::string(request.script_name()), std::string(request.query_string()));
    };
    RequestHandler observed = [&](const Request& request, Response& response) {
      handler(request, response);
      if (access_log.enabled()) access_log.write(AccessRecord{request, response, start, pool::now_us(), pool.name});
    };
    if (slot) {
      slot->fd = c->fd.get();
      slot->slow_logged = false;
      slot->started_us = start;
    }
    AfterExchange after = serve_fcgi_request(c->fd.get(), observed, ExchangeLimits{}, started);
    c->requests.fetch_add(1);
    bool abandoned = index >= 0 && WorkerPool::current_thread_abandoned();
    if (slot && !abandoned) {
      slot->started_us = 0;
      slot->fd = -1;
      if (id.board && began) id.board->request_finished(id.slot, index, pool::now_us());
    }
    if (after == AfterExchange::closed) {
      c->fd.release();  // libfcgi closed it
      loop.release(c);
    } else {
      loop.rearm(c);
    }
    return abandoned;
  };

  std::unique_ptr<WorkerPool> workers;
  auto waiting = [&](int delta) {
    if (id.board) id.board->child(id.slot).waiting.fetch_add(delta, std::memory_order_relaxed);
  };
  workers = std::make_unique<WorkerPool>(threads, [&](Connection* c, int index) {
    if (c->queued) {
      c->queued = false;
      waiting(-1);
    }
    bool abandoned = exchange(c, &workers->slot(index), index, handle);
    // pm.max_requests: finish what is in flight, exit, the master replaces
    // us. Counted before capacity is given back, so no request slips past.
    if (max_requests > 0 && served.fetch_add(1) + 1 >= max_requests) loop.stop_gracefully();
    if (!abandoned) in_flight.fetch_sub(1);
    loop.resume_accepting();
  });
  Watchdog watchdog(pool, id.board, id.slot, *workers);
  watchdog.on_terminated([&] {
    in_flight.fetch_sub(1);
    loop.resume_accepting();
  });

  // Room for one more connection: a free thread not promised to an
  // accepted connection, and, with pm.max_requests, requests left to serve.
  loop.on_capacity([&] {
    long promised = in_flight.load() + loop.reserved();
    if (max_requests > 0 && served.load() + promised >= max_requests) return false;
    return promised < threads;
  });
  loop.on_dispatch([&](Connection* c) {
    if (in_flight.fetch_add(1) >= threads) {
      c->queued = true;  // every thread is busy: it waits in the queue
      waiting(+1);
    }
    workers->submit(c);
  });
  // Saturated: a connection left in the backlog is taken anyway (status and
  // ping answer at once), but only once the pm can add no child that would
  // take it (pm.max_children reached), never more than one request queued
  // here, and never past pm.max_requests.
  loop.on_overflow(
      [&] {
        long started = in_flight.load();
        if (max_requests > 0 && served.load() + started >= max_requests) return false;
        if (started > threads) return false;
        return !id.board || id.board->counts().total >= pool.pm_max_children;
      },
      waiting);
  loop.on_inline([&](const std::string& script) { return pool_pages.is_pool_page(script); },
                 [&](Connection* c) { exchange(c, nullptr, -1, handle); });
  if (id.status_fd >= 0)
    loop.add_status_listener(id.status_fd, [&](Connection* c) { exchange(c, nullptr, -1, pages_only); });
  loop.on_tick([&] { watchdog.check(); });
  loop.on_accept([&] {
    if (id.board) id.board->pool().accepted_conn.fetch_add(1, std::memory_order_relaxed);
  });
  loop.watch(signals.get(), [&] {
    signalfd_siginfo info{};
    while (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
      switch (info.ssi_signo) {
        case SIGQUIT: loop.stop_gracefully(); break;
        case SIGUSR1:
          reopen_logs();
          access_log.reopen();
          break;
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
  if (id.board) id.board->child(id.slot).state = static_cast<int>(pool::ChildState::finishing);
  workers->stop();
  return 0;
}

}  // namespace cppfpm::server
