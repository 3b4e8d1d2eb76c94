#include "server/child_server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "handlers/router.h"

namespace cppfpm::server {
namespace {

LoopOptions loop_options(const pool::PoolConfig& pool) {
  LoopOptions options;
  options.max_conns = pool.pm_max_children * pool.threads_per_child;
  options.max_reqs = options.max_conns;
  options.heads.first_byte_timeout = pool.request_head_first_byte_timeout;
  options.heads.max_pending = static_cast<std::size_t>(pool.pm_max_pending_heads);
  options.queue_timeout = pool.pm_queue_timeout;
  options.pool_name = pool.name;
  options.max_children = pool.pm_max_children;
  options.queue_per_child = pool.effective_queue_per_child();
  return options;
}

// CPU time the calling thread has used, in microseconds.
std::int64_t thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// The child's peak resident set size in bytes: what "last request memory"
// and %M report, a thread having no memory of its own.
std::int64_t peak_rss_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace

ChildServer::ChildServer(const pool::PoolConfig& pool, int listen_fd, const pool::ChildIdentity& id,
                         Fd signals, const PoolPages& pages, RequestHandler handle)
    : pool_(pool),
      id_(id),
      pages_(pages),
      handle_(std::move(handle)),
      // pm.status_listen answers the pool's own pages and nothing else.
      pages_only_([this](const Request& request, Response& response) {
        if (!pages_.serve(request, response)) handlers::Router::not_found(response);
      }),
      access_log_(pool.access_log, pool.access_format, pool.access_suppress_paths),
      signals_(std::move(signals)),
      admission_(
          AdmissionRules{.threads = pool.threads_per_child,
                         .queue = pool.effective_queue_per_child(),
                         .max_requests = pool.pm_max_requests,
                         .shed = pool.pm_reject_when_full},
          // Overflow only once the pm can add no child that would take it.
          [this] { return !id_.board || id_.board->counts().total >= pool_.pm_max_children; },
          [this](int waiting) {
            if (id_.board)
              id_.board->child(id_.slot).waiting.store(waiting, std::memory_order_relaxed);
          },
          // Queue only when no other child could serve sooner.
          [this] { return pool_saturated(); }),
      loop_(listen_fd, ClientFilter(pool.listen_allowed_clients), loop_options(pool), admission_,
            *this),
      workers_(pool.threads_per_child,
               [this](Connection* c, int index) { serve_on_worker(c, index); }),
      watchdog_(pool, id.board, id.slot, workers_) {
  watchdog_.on_terminated([this] {
    admission_.terminated();
    loop_.resume_accepting();
  });
  if (id.status_fd >= 0) loop_.add_status_listener(id.status_fd);
  if (id.handoff_receive >= 0 && id.handoff_send >= 0)
    loop_.set_handoff(HandoffSockets{id.handoff_receive, id.handoff_send}, [this] {
      return id_.board && id_.board->pool().handing_over.load(std::memory_order_relaxed) != 0;
    });
  loop_.watch(signals_.get());
}

int ChildServer::run() {
  loop_.run();
  if (loop_.stopped_now()) {
    // Fast stop: requests in flight are abandoned, as php-fpm's SIGTERM does.
    spdlog::default_logger()->flush();
    ::_exit(0);
  }
  if (id_.board) id_.board->child(id_.slot).state = static_cast<int>(pool::ChildState::finishing);
  workers_.stop();
  return 0;
}

bool ChildServer::pool_saturated() const {
  if (!id_.board) return true;
  pool::Scoreboard& board = *id_.board;
  int total = 0;
  for (int i = 0; i < board.capacity(); ++i) {
    pool::ChildSlot& child = board.child(i);
    int state = child.state.load(std::memory_order_relaxed);
    if (state == static_cast<int>(pool::ChildState::free)) continue;
    ++total;
    if (i == id_.slot || state == static_cast<int>(pool::ChildState::finishing)) continue;
    // A thread free for a moment between two requests of a child whose own
    // requests wait (queued or overflow) is no room for more.
    if (child.busy_threads.load(std::memory_order_relaxed) < board.threads() &&
        child.waiting.load(std::memory_order_relaxed) == 0)
      return false;
  }
  return total >= pool_.pm_max_children;
}

void ChildServer::dispatch(Connection* c) {
  workers_.submit(c);
}

bool ChildServer::is_inline(std::string_view script) {
  return pages_.is_pool_page(script);
}

void ChildServer::serve_inline(Connection* c) {
  bool status_only = c->admission.kind() == AdmissionTicket::Kind::status_only;
  exchange(c, -1, status_only ? pages_only_ : handle_);
}

void ChildServer::accepted() {
  if (id_.board) id_.board->pool().accepted_conn.fetch_add(1, std::memory_order_relaxed);
}

void ChildServer::tick() {
  watchdog_.check();
  check_memory();
}

namespace {

// Resident bytes of this process (/proc/self/statm: pages), 0 if unknown.
std::uint64_t resident_bytes() {
  Fd fd(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  char text[128];
  ssize_t n = fd ? ::read(fd.get(), text, sizeof(text) - 1) : -1;
  if (n <= 0) return 0;
  text[n] = 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(text, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

void ChildServer::check_memory() {
  if (pool_.pm_max_memory == 0 || recycling_for_memory_) return;
  std::uint64_t rss = resident_bytes();
  if (rss <= pool_.pm_max_memory) return;
  recycling_for_memory_ = true;
  spdlog::info(
      "child {} uses {} KiB, over pm.max_memory ({} KiB): finishing its requests and exiting",
      ::getpid(), rss / 1024, pool_.pm_max_memory / 1024);
  loop_.stop_gracefully();
}

void ChildServer::readable(int fd) {
  if (fd == signals_.get()) read_signals();
}

void ChildServer::serve_on_worker(Connection* c, int index) {
  // Read before the exchange: `c` is the loop's again once it ends.
  const bool kept = admission_.taken(c->admission);
  bool abandoned = exchange(c, index, handle_);
  // pm.max_requests: finish what is in flight, exit, the master replaces us.
  if (admission_.finished(abandoned, kept)) loop_.stop_gracefully();
  loop_.resume_accepting();
}

bool ChildServer::exchange(Connection* c, int index, const RequestHandler& handler) {
  WorkerPool::Slot* slot = index >= 0 ? &workers_.slot(index) : nullptr;
  std::int64_t start = pool::now_us();
  const std::int64_t cpu_start = thread_cpu_us();
  bool began = false;
  auto started = [&](const Request& request) {
    began = true;
    if (!id_.board) return;
    if (slot)
      id_.board->request_started(id_.slot, index, start, std::string(request.method()),
                                 std::string(request.script_name()),
                                 std::string(request.query_string()));
    else
      id_.board->page_started(id_.slot);  // the loop thread answers a pool page
  };
  auto observed = [&](const Request& request, Response& response) {
    handler(request, response);
    if (access_log_.enabled()) {
      std::string peer = c->peer.ss_family == AF_UNIX ? "" : ClientFilter::peer_text(c->peer);
      access_log_.write(AccessRecord{request, response, start, pool::now_us(), pool_.name, peer,
                                     thread_cpu_us() - cpu_start, peak_rss_bytes()});
    }
  };
  if (slot) {
    slot->fd = c->fd.get();
    slot->slow_logged = false;
    slot->started_us = start;
  }
  // Stopping: a kept connection closes with its answer (on worker threads
  // only; the loop thread must not linger on a close, rearm() closes it),
  // unless it goes to the next generation (a reload: rearm() hands it over).
  auto last_answer = [this, slot] { return slot && loop_.stopping() && !loop_.hands_over(); };
  AfterExchange after =
      serve_fcgi_request(c->fd.get(), observed, ExchangeLimits{}, started, last_answer);
  c->requests.fetch_add(1);
  bool abandoned = slot && WorkerPool::current_thread_abandoned();
  if (slot && !abandoned) {
    slot->started_us = 0;
    slot->fd = -1;
    if (id_.board && began)
      id_.board->request_finished(id_.slot, index, pool::now_us(), thread_cpu_us() - cpu_start,
                                  peak_rss_bytes());
  }
  if (!slot && id_.board && began) id_.board->page_finished(id_.slot, start, pool::now_us());
  if (after == AfterExchange::closed) {
    c->fd.release();  // libfcgi closed it
    loop_.release(c);
  } else {
    loop_.rearm(c);
  }
  return abandoned;
}

void ChildServer::read_signals() {
  signalfd_siginfo info{};
  while (::read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
    switch (info.ssi_signo) {
      case SIGQUIT:
        loop_.stop_gracefully();
        break;
      case SIGUSR1:
        // The master reopens the logs, then restarts its children so that
        // they inherit the new files (see log.h); nothing to do here.
        break;
      case SIGUSR2:
        break;  // the master reloads; children ignore it
      default:
        loop_.stop_now();
        break;
    }
  }
}

}  // namespace cppfpm::server
