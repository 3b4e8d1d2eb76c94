#pragma once
// The per-child event loop (epoll). It owns the listening socket and every
// connection that is not being served: idle keep-alive connections from
// nginx wait here and never pin a worker thread. A connection goes to a
// worker only once a complete, screened request head has arrived.
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/fastcgi/admission.h"
#include "server/fastcgi/connection.h"
#include "server/fastcgi/event_loop_heads.h"
#include "server/fastcgi/handoff.h"
#include "server/fastcgi/listener.h"
#include "server/fastcgi/record_screen.h"

namespace cppfpm::server {

struct LoopOptions {
  // The first-byte timeout, the head timeout, pm.max_pending_heads.
  HeadRules heads;
  ScreenLimits limits;
  int max_conns = 1;  // answered to FCGI_GET_VALUES
  int max_reqs = 1;
  // The queue (event_loop_queue): how long a request may wait there for a
  // thread before it is answered 503 (pm.queue_timeout, 0: no limit), and
  // what the 503's log line names.
  std::chrono::milliseconds queue_timeout{0};
  std::string pool_name = "www";
  int max_children = 1;
  int queue_per_child = 0;
};

// What the loop needs from the program that runs it. Called from the loop
// thread.
class LoopHost {
 public:
  virtual ~LoopHost() = default;
  // A request head arrived whole: serve the connection on a worker thread
  // (admission admitted it, and a thread is free for it).
  virtual void dispatch(Connection* connection) = 0;
  // Requests for these scripts (status, ping) are answered in the loop
  // thread when they arrived whole, so they answer while every worker
  // thread is busy.
  virtual bool is_inline(std::string_view script) = 0;
  // Serves one request in the loop thread: an inline script, or anything
  // that came in on pm.status_listen (admission kind status_only).
  virtual void serve_inline(Connection* connection) = 0;
  // A connection from the pool's socket was accepted (not pm.status_listen).
  virtual void accepted() = 0;
  // Every 250 ms.
  virtual void tick() = 0;
  // An fd given to EventLoop::watch() is readable.
  virtual void readable(int fd) = 0;
};

class EventLoop {
 public:
  // `admission` decides when the pool's socket is accepted on; the loop
  // tells it what it accepts, dispatches and closes.
  EventLoop(int listen_fd, ClientFilter filter, LoopOptions options, Admission& admission,
            LoopHost& host);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // pm.status_listen: a second listening socket accepted on whatever the
  // worker threads are doing; its requests are answered in the loop thread
  // (LoopHost::serve_inline) and count in no capacity.
  void add_status_listener(int fd);
  // Adds an fd the loop watches for readability (LoopHost::readable).
  void watch(int fd);
  // The pool's reload handoff (server/fastcgi/handoff.h): while running,
  // the loop takes kept connections a stopping child of an older
  // generation hands over; once stopping, while `permitted()` says so (the
  // master is reloading), it hands over its own idle kept connections
  // instead of closing them, and a connection answered while stopping is
  // handed over too instead of being closed with its answer.
  void set_handoff(HandoffSockets sockets, std::function<bool()> permitted);
  // Stopping, and kept connections go to the next generation.
  bool hands_over() const;
  // Admission may allow more now (a worker finished): the loop looks again.
  // Safe from any thread.
  void resume_accepting();

  // Runs until stop(). Thread: the loop thread.
  void run();
  // Stops accepting and closes idle connections; run() returns once no
  // connection is being served. Safe from any thread.
  void stop_gracefully();
  // Makes run() return at once. Safe from any thread.
  void stop_now();

  // A worker finished a request and the client keeps the connection: wait
  // for its next request here. Safe from any thread. False when the
  // connection was closed instead (stopping, or epoll failed).
  bool rearm(Connection* connection);
  // A worker closed the connection. Safe from any thread.
  void release(Connection* connection);

  bool stopped_now() const { return stop_now_.load(); }
  // A graceful stop began: kept connections close after their next answer
  // (on a reload they are handed over instead, see hands_over()).
  bool stopping() const { return graceful_.load() || stop_now_.load(); }
  std::size_t connection_count() const;
  std::uint64_t accepted() const { return accepted_.load(); }

 private:
  using Kind = AdmissionTicket::Kind;
  using TimePoint = std::chrono::steady_clock::time_point;

  // Sizes the listener's receive buffer for a whole head (accepted sockets
  // inherit it).
  void size_receive_buffer();
  void accept_all();
  // Accepts one connection from `listen_fd`; false when its backlog is
  // empty or broken.
  bool accept_one(int listen_fd, Kind kind);
  void accept_status();
  void accept_overflow(TimePoint now);
  // accept4() ran out of file descriptors: no accepting for a while.
  void back_off_accepting(int error);
  bool backing_off(TimePoint now) const { return backoff_until_ && now < *backoff_until_; }
  // What has arrived on a connection waiting in the loop, looked at
  // (MSG_PEEK) without reading it: the peer gone (EOF, or the connection
  // broke), nothing yet, or bytes and what the screen makes of them.
  struct PeekedHead {
    enum class State { gone, nothing, bytes } state = State::nothing;
    ScreenResult screen;
  };
  PeekedHead peek_head(Connection* connection) const;
  void on_readable(Connection* connection, std::uint32_t events);
  // Part of a head is in: wait for more bytes (or the peer's EOF).
  void await_rest_of_head(Connection* connection, std::uint32_t events);
  // The head is whole: out of the epoll set until rearm().
  void head_complete(Connection* connection);
  void close_connection(Connection* connection);
  void close_idle_locked();
  // Stopping for a reload: sends the idle kept connections to the next
  // generation; those it could not send stay (worth_waiting_for).
  void hand_over_idle_locked();
  // Takes the connections another child handed over (loop thread).
  void receive_handed();
  void adopt_handed(int fd, TimePoint now);
  // Adds `connection` to the table and to epoll, waiting for its first
  // bytes (EPOLLRDHUP: a peer that shuts its side with half a head is
  // closed at once). False, the connection closed, when epoll refuses it;
  // `what` names it in that log line.
  bool register_connection(std::unique_ptr<Connection> connection, const char* what);
  // On a graceful stop: whether a connection waiting in the loop may still
  // bring a request to serve.
  bool worth_waiting_for(Connection* connection, TimePoint now);
  // Slow clients (event_loop_heads): timeouts and the cap, after each turn.
  enum SlowKind { first_byte, head_timeout, over_cap, eof_in_head };
  void close_slow(Connection* connection, SlowKind kind, TimePoint now);
  void enforce_head_rules(TimePoint now);
  // Before a fresh connection is added: at pm.max_pending_heads, the oldest
  // goes, so the cap bounds the descriptors they hold.
  void make_room_for_head(TimePoint now);
  // Served no request yet, and not a pm.status_listen probe.
  static bool counts_in_cap(const Connection* c) {
    return c->requests.load() == 0 && c->admission.kind() != Kind::status_only;
  }
  // The queue and the 503 (event_loop_queue): a whole head admission
  // judges; requests waiting for a thread, handed over as threads free and
  // answered 503 past pm.queue_timeout; a 503 answered with a body still to
  // come is read to its end before the close (lingering).
  struct HeadFacts {
    int request_id = 0;
    bool keep_conn = false;
    std::size_t head_bytes = 0;
    bool stdin_complete = false;
    std::string script;
  };
  struct QueuedHead {
    Connection* connection;
    TimePoint since;
    HeadFacts head;
  };
  enum ShedKind { shed_full = 100, shed_timeout };
  static HeadFacts facts_of(const ScreenResult& verdict);
  void admit_request(Connection* connection, const ScreenResult& verdict);
  void run_queue(TimePoint now);
  std::optional<std::chrono::milliseconds> queue_deadline(TimePoint now) const;
  void answer_unavailable(Connection* connection, const HeadFacts& head, ShedKind kind,
                          TimePoint now);
  void linger(Connection* connection, TimePoint now);
  void drain_lingering(Connection* connection);
  void wake();
  int next_timeout(TimePoint now, TimePoint last_tick) const;
  void update_listening();
  // Adds `fd` to the epoll set or removes it; `polled` tracks which.
  void set_polled(int fd, bool want, bool& polled, const char* what);

  int listen_fd_;
  int status_fd_ = -1;
  ClientFilter filter_;
  LoopOptions options_;
  Admission& admission_;
  LoopHost& host_;
  Fd epoll_;
  Fd wakeup_;
  bool listening_ = true;            // loop thread only
  bool status_polled_ = false;       // loop thread only
  std::atomic<bool> paused_{false};  // the pool's socket is out of the epoll set
  // Out of file descriptors (EMFILE/ENFILE): when accepting may resume, and
  // when the episode began (it is logged once). Loop thread only.
  std::optional<TimePoint> backoff_until_;
  std::optional<TimePoint> fd_shortage_since_;
  std::unordered_set<int> watched_;
  HandoffSockets handoff_;
  std::function<bool()> handoff_permitted_;
  bool handoff_polled_ = false;         // loop thread only
  bool handoff_failed_logged_ = false;  // under mutex_
  std::size_t handed_over_ = 0;         // under mutex_
  HeadWatch heads_;                     // loop thread only
  CountedLog slow_log_;                 // loop thread only
  // Closed by make_room_for_head() during this turn (loop thread only).
  std::unordered_set<Connection*> evicted_;
  mutable std::mutex mutex_;  // guards connections_ and the stopping flags
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::atomic<bool> graceful_{false};
  std::optional<TimePoint> graceful_since_;  // loop thread only
  std::atomic<bool> stop_now_{false};
  std::atomic<std::uint64_t> accepted_{0};
  // event_loop_queue: loop thread only, but for the flag a worker reads to
  // know whether a finished request must wake the loop.
  std::deque<QueuedHead> queue_;
  std::atomic<bool> queue_waiting_{false};
  std::unordered_map<Connection*, TimePoint> lingering_;  // until when
};

}  // namespace cppfpm::server
