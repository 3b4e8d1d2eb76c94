#pragma once
// The per-child event loop (epoll). It owns the listening socket and every
// connection that is not being served: idle keep-alive connections from
// nginx wait here and never pin a worker thread. A connection goes to a
// worker only once a complete, screened request head has arrived.
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/fastcgi/connection.h"
#include "server/fastcgi/listener.h"
#include "server/fastcgi/record_screen.h"

namespace cppfpm::server {

struct LoopOptions {
  std::chrono::milliseconds head_timeout{10000};  // a started request head must complete in this time
  ScreenLimits limits;
  int max_conns = 1;  // answered to FCGI_GET_VALUES
  int max_reqs = 1;
};

class EventLoop {
 public:
  using Dispatch = std::function<void(Connection*)>;
  // Called every 250 ms from the loop thread.
  using Tick = std::function<void()>;

  EventLoop(int listen_fd, ClientFilter filter, LoopOptions options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void on_dispatch(Dispatch dispatch) { dispatch_ = std::move(dispatch); }
  void on_tick(Tick tick) { tick_ = std::move(tick); }
  // Runs in the loop thread for every accepted connection.
  void on_accept(std::function<void()> f) { on_accept_ = std::move(f); }
  // Accept only while `has_room()` (a worker thread is free): otherwise the
  // connection waits in the kernel's backlog where another child, or the
  // master's pm, sees it. Workers call resume_accepting() when they finish.
  void on_capacity(std::function<bool()> has_room) { has_room_ = std::move(has_room); }
  void resume_accepting();
  // While no thread is free, a connection that has waited in the backlog
  // for kOverflowDelay is still taken, one at a time and only while
  // `may_overflow()`: a status or ping probe is then answered here at once,
  // and anything else waits for this child's next free thread instead of
  // waiting unseen. `waiting(+1/-1)` follows such connections until their
  // request is answered here or handed over.
  void on_overflow(std::function<bool()> may_overflow, std::function<void(int)> waiting) {
    may_overflow_ = std::move(may_overflow);
    waiting_ = std::move(waiting);
  }
  // Requests for these scripts (status, ping) are answered in the loop
  // thread itself when they arrived whole, so they answer even when every
  // worker thread is busy.
  void on_inline(std::function<bool(const std::string&)> is_inline, Dispatch serve_inline) {
    is_inline_ = std::move(is_inline);
    serve_inline_ = std::move(serve_inline);
  }
  // pm.status_listen: a second listening socket accepted on whatever the
  // worker threads are doing; its requests are answered in the loop thread
  // by `serve` (status and ping only), and count in no capacity.
  void add_status_listener(int fd, Dispatch serve);
  // Adds an fd the loop watches for readability; `handler` runs in the loop thread.
  void watch(int fd, std::function<void()> handler);

  // Runs until stop(). Thread: the loop thread.
  void run();
  // Stops accepting and closes idle connections; run() returns once no
  // connection is being served. Safe from any thread.
  void stop_gracefully();
  // Makes run() return at once. Safe from any thread.
  void stop_now();

  // A worker finished a request and the client keeps the connection: wait
  // for its next request here. Safe from any thread.
  void rearm(Connection* connection);
  // A worker closed the connection. Safe from any thread.
  void release(Connection* connection);

  bool stopped_now() const { return stop_now_.load(); }
  // Accepted connections whose first request has not reached a worker yet.
  // They count against the child's capacity: a child takes no more
  // connections than it has free threads for.
  int reserved() const { return reserved_.load(std::memory_order_relaxed); }
  std::size_t connection_count() const;
  std::uint64_t accepted() const { return accepted_.load(); }

 private:
  void accept_all();
  // How a connection came: the pool's socket with a free thread, the same
  // while saturated (see on_overflow), or pm.status_listen.
  enum class Accepted { pool, overflow, status_only };
  // Accepts one connection from `listen_fd`; false when its backlog is
  // empty or broken.
  bool accept_one(int listen_fd, Accepted kind);
  void accept_status();
  void accept_overflow();
  void drop_overflow(Connection* connection);
  void on_readable(Connection* connection);
  void close_connection(Connection* connection);
  void close_idle_locked();
  void sweep_partial_heads();
  void wake();
  void update_listening();
  void unreserve(Connection* connection);
  void expire_reservations();

  int listen_fd_;
  int status_fd_ = -1;
  Dispatch serve_status_;
  ClientFilter filter_;
  LoopOptions options_;
  Fd epoll_;
  Fd wakeup_;
  Dispatch dispatch_;
  Tick tick_;
  std::function<bool()> has_room_;
  std::function<void()> on_accept_;
  std::function<bool()> may_overflow_;
  std::function<void(int)> waiting_;
  std::optional<std::chrono::steady_clock::time_point> backlog_since_;  // loop thread only
  std::function<bool(const std::string&)> is_inline_;
  Dispatch serve_inline_;
  bool listening_ = true;                 // loop thread only
  std::atomic<bool> paused_{false};       // accepting paused for lack of a free worker
  std::atomic<int> reserved_{0};
  std::vector<Connection*> reservations_;  // loop thread only: connections holding a place
  std::unordered_map<int, std::function<void()>> watched_;
  std::vector<Connection*> pending_;  // loop thread only: heads still arriving
  mutable std::mutex mutex_;  // guards connections_ and the stopping flags
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::atomic<bool> graceful_{false};
  std::atomic<bool> stop_now_{false};
  std::atomic<std::uint64_t> accepted_{0};
};

}  // namespace cppfpm::server
