#include "server/child.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "handlers/router.h"
#include "server/child_server.h"
#include "server/fastcgi/fcgi_exchange.h"
#include "server/log.h"
#include "server/memcached/servers.h"
#include "server/pool_pages.h"
#include "server/proc_title.h"
#include "server/watchdog.h"
#include "session/lock_ledger.h"
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

// The session locks this child's requests hold, written down in its
// scoreboard entries so that the master can release them if it dies.
class ScoreboardLedger final : public session::LockLedger {
 public:
  ScoreboardLedger(pool::Scoreboard* board, int slot) : board_(board), slot_(slot) {}
  int taken(std::string_view lock_key, std::uint64_t token) override {
    return board_ ? board_->lock_taken(slot_, lock_key, token) : -1;
  }
  void acquired(int entry) override {
    if (board_) board_->lock_acquired(slot_, entry);
  }
  void released(int entry) override {
    if (board_) board_->lock_released(slot_, entry);
  }
  Contention contention(std::string_view lock_key) override {
    if (!board_) return {};
    auto c = board_->lock_contention(slot_, lock_key);
    return {c.waiting, c.held};
  }

 private:
  pool::Scoreboard* board_;
  int slot_;
};

Fd child_signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  // Blocked before any thread starts, so every thread inherits the mask and
  // the signals are read from the signalfd by the loop thread only.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  Fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) {
    // Without it the child could be stopped by SIGKILL only: fail instead.
    int error = errno;
    throw std::runtime_error(std::string("signalfd() failed: ") + std::strerror(error) + " (" +
                             std::to_string(error) + ")");
  }
  return fd;
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

// Memory that comes back after a big request. glibc raises its mmap
// threshold to the size of each mmapped block freed (up to 32 MiB), so after
// one large body the next ones come from the thread's arena, whose free
// middle is never returned: a child kept ~17 MB per worker thread after
// 8 MiB bodies. Set explicitly, the threshold stays fixed, blocks past it
// are mmapped and unmapped on free. Arenas are capped at one per thread.
void tune_malloc(int threads) {
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  ::mallopt(M_ARENA_MAX, threads + 2);
}

}  // namespace

int run_child(const pool::PoolConfig& pool, int listen_fd, const pool::ChildIdentity& id,
              const std::vector<handlers::Route>& routes) {
  set_proc_title("cppfpm: pool " + pool.name);
  Fd signals = child_signal_fd();
  tune_malloc(pool.threads_per_child);
  redirect_page_output(id.output);
  init_fastcgi();
  Watchdog::install_stack_capture();

  auto store = make_session_store(pool);
  sql::DatabaseOptions db_options;
  db_options.dsn = pool.sql_dsn;
  db_options.connect_timeout = pool.sql_connect_timeout;
  db_options.read_timeout = pool.sql_read_timeout;
  db_options.write_timeout = pool.sql_write_timeout;
  db_options.pool_size = pool.effective_sql_pool_size();
  if (!pool.sql_servers.empty())  // its shape was checked by the config loader
    db_options.servers = sql::parse_servers(
        pool.sql_servers, sql::connect_string_port(sql::mysql_connect_string(db_options)));
  sql::SociDatabase db(db_options);
  sql::MemcachedCacheStore cache_store(memcached::parse_save_path(pool.effective_cache_servers()));
  sql::CachedQueries cache(cache_store, db, sql::QueryCacheOptions{.default_ttl = pool.cache_ttl});
  handlers::SystemClock clock;
  // session.lock_waiters = 0: half the worker threads may wait for
  // session locks, the others keep serving.
  session::Settings session_settings = pool.session;
  if (session_settings.lock_waiters == 0)
    session_settings.lock_waiters = std::max(1, pool.threads_per_child / 2);
  ScoreboardLedger ledger(id.board, id.slot);
  session::set_lock_ledger(&ledger);
  handlers::Context context{*store, session_settings, db, cache, clock};

  handlers::Router router;
  for (const auto& r : routes) router.add(r.script, r.handler);
  PoolPages pool_pages(pool, id.board, listen_fd);
  RequestHandler handle = [&](const Request& request, Response& response) {
    if (pool_pages.serve(request, response)) return;
    const handlers::Handler* h = router.find(request);
    if (!h) return handlers::Router::not_found(response);
    handlers::Context ctx = context;
    (*h)(request, response, ctx);
  };
  ChildServer server(pool, listen_fd, id, std::move(signals), pool_pages, std::move(handle));
  const int code = server.run();
  session::set_lock_ledger(nullptr);
  return code;
}

}  // namespace cppfpm::server
