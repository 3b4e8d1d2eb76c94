#pragma once
// Admission: whether a child may take a connection now. One owner for the
// whole policy, so that it reads in one place and is tested without sockets:
//
// - A connection is accepted from the pool's socket only while a worker
//   thread is free and not promised to a connection accepted just before
//   (a reservation, which lasts `reservation`: nginx sends its request right
//   after connecting, so a silent or trickling client cannot hold a thread's
//   place for long). Otherwise it waits in the kernel backlog, where another
//   child, or the master's pm, sees it.
// - Queue: once the pool has pm.max_children children (the pm can start
//   none, so the backlog's pressure would only make the connection wait
//   there) and no other child has a free thread, a child also accepts while it has fewer than
//   threads + `queue` places promised: the heads wait FIFO in the child for its next free thread,
//   counted as waiting. Small (pm.queue_per_child, by default the thread count), so a slow child
//   holds few requests another could serve.
// - Full (pm.reject_when_full, `shed`): once the whole pool is saturated
//   (pm.max_children children, no other child with a free thread) and this
//   child's threads and queue are all promised, the child still accepts
//   (Kind::shed): a status or ping probe is answered in the loop, anything
//   else is answered 503 with Retry-After at once by the loop, unless a
//   place freed meanwhile. A whole head that finds no free thread is judged
//   the same way (admit()): queued while the queue has room, or while
//   another child has a free thread (a kept connection's request can only be
//   served here), otherwise answered 503.
// - Saturated without `shed`, once the pool has pm.max_children children (the pm can start
//   none that would take it) and the backlog has stayed non-empty for
//   `overflow_delay`, one connection is taken anyway: a status or ping probe
//   is then answered in the loop at once, anything else waits for this
//   child's next free thread, counted as waiting (the status page's listen
//   queue). One at a time, never while a request already waits in the queue.
// - Flooded: once `flood_silent` connections have outlived their
//   reservation without sending a whole head, the child keeps accepting
//   whatever its threads are doing, so a good client is not left in a
//   backlog full of silent ones; the loop sheds those (pm.max_pending_heads,
//   request_head_first_byte_timeout), and a good request waits for a thread.
// - Kept connections: the requests of a connection nginx keeps (its second
//   and later, and connections handed over on a reload) can only be served
//   by this child, so they take a thread (no connection is accepted while
//   none is free) but none of the queue's places, which stay for new
//   connections. Otherwise, with nginx keeping fewer connections than it
//   has clients (keepalive 32, 256 clients), the kept connections' requests
//   filled the queue and the others waited in the backlog past nginx's
//   patience.
// - pm.max_requests: no connection is taken for a request this child will
//   not serve; the request that reaches the limit ends the child.
// - pm.status_listen connections count in no capacity.
//
// The loop thread asks and reports accepts, heads and closes; worker threads
// report what they take and finish. Every member is thread-safe. Time is
// passed in, never read here.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace cppfpm::server {

struct AdmissionRules {
  int threads = 1;        // pm.threads_per_child
  int queue = 0;          // pm.queue_per_child: heads queued at pm.max_children
  long max_requests = 0;  // pm.max_requests, 0 for no limit
  std::chrono::milliseconds reservation{100};
  // Long enough that a child freeing a thread (or one the pm spawns) takes a
  // burst from the backlog first; short enough for a monitoring probe.
  std::chrono::milliseconds overflow_delay{200};
  // How often a saturated loop looks at its backlog (it is out of epoll).
  std::chrono::milliseconds backlog_poll{20};
  // nginx sends its request at once: this many connections silent (or
  // trickling) past their reservation is a flood, not a slow nginx. 0: never.
  int flood_silent = 16;
  // pm.reject_when_full: answer 503 rather than leave connections in the
  // backlog once the pool is saturated and the queue full.
  bool shed = false;
};

// Admission's record of one connection, kept in the connection. Only
// Admission reads or writes it (under its lock).
class AdmissionTicket {
 public:
  enum class Kind { pool, overflow, status_only, shed };
  Kind kind() const { return kind_; }

 private:
  friend class Admission;
  Kind kind_ = Kind::pool;
  std::uint64_t id_ = 0;
  bool waiting_ = false;  // taken while saturated, its request not seen yet
  bool queued_ = false;   // in the loop's queue, every thread busy
  bool unheard_ = false;  // accepted, its head not whole yet
  bool fresh_ = false;    // accepted, its first request not admitted yet
  bool kept_ = false;     // its last request was admitted as a kept connection's
};

class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  using Time = Clock::time_point;
  using Kind = AdmissionTicket::Kind;

  // `at_max_children`: the pool has pm.max_children children. `report_waiting`
  // receives the waiting count after each change (the scoreboard's `waiting`).
  // `pool_saturated`: at pm.max_children and no other child has a free
  // thread (one free between two requests while that child's own requests
  // wait is no room), the condition for the queue (at_max_children when not
  // given).
  Admission(AdmissionRules rules, std::function<bool()> at_max_children,
            std::function<void(int)> report_waiting = {},
            std::function<bool()> pool_saturated = {});

  // --- Asked by the loop thread.
  // A free thread nobody was promised, and requests left under pm.max_requests.
  bool may_accept() const;
  // The rule allows a connection from the backlog while saturated; the loop
  // then looks whether one waits (a poll) and asks overflow_due().
  bool overflow_allowed() const;
  // Whether to take one connection from the backlog now: true once it has
  // been seen non-empty (`backlog_waiting`) for overflow_delay, with the rule
  // allowing it all along.
  bool overflow_due(bool backlog_waiting, Time now);
  // How soon the loop must ask again (a reservation expires, the backlog is
  // due a look); nullopt when nothing here is time-bound.
  std::optional<std::chrono::milliseconds> next_check(Time now) const;

  // --- Told by the loop thread.
  // A connection was accepted: a pool one holds a reservation from `now`.
  void accepted(AdmissionTicket& ticket, Kind kind, Time now);
  // Its request head arrived whole (served inline or admitted next), or it
  // was closed: it holds a place no more and no longer waits.
  void head_arrived(AdmissionTicket& ticket);
  void closed(AdmissionTicket& ticket);
  // A whole request head to serve on a worker thread: `serve` (a thread is
  // free and nothing is queued before it: hand it over now), `queue` (it
  // waits in the loop, FIFO, counted as waiting, until thread_free()), or
  // `shed` (answer 503: see the rules above).
  enum class Admit { serve, queue, shed };
  Admit admit(AdmissionTicket& ticket);
  // A worker thread is free for the oldest queued request.
  bool thread_free() const;
  // A worker thread took the request of `ticket` (queued or not): true for
  // a kept connection's request, to be given to finished(). Asked before
  // the exchange: after it the connection may be closed, or carry its next
  // request.
  bool taken(AdmissionTicket& ticket);
  // A queued request waited past pm.queue_timeout: answered 503 instead.
  void expired(AdmissionTicket& ticket);
  // The pool's socket may be accepted on to answer 503 (Kind::shed).
  bool may_shed() const;
  // Ends reservations older than `reservation`.
  void tick(Time now);

  // --- Told by worker threads (and the watchdog).
  // A worker finished a request; `abandoned` when its thread was given up on
  // (terminated() already gave its place back). Counted before the place is
  // given back, so no request slips past pm.max_requests. Returns true when
  // this request reached pm.max_requests: the child should finish.
  // `kept`: what taken() said of it.
  bool finished(bool abandoned, bool kept = false);
  // The watchdog gave up on a thread stuck in a request: its place is free.
  void terminated();

  int in_flight() const;  // served by a thread or queued in the loop
  int queued() const;
  int kept() const;  // kept connections' requests in flight
  int reserved() const;
  int waiting() const;
  long served() const;
  long shed() const;  // answered 503: queue full or queue timeout
  // Connections whose head has not arrived, and whether they are a flood.
  int unheard() const;
  bool flooded() const;

 private:
  struct Reservation {
    std::uint64_t id;
    Time until;
  };
  // do_: the caller holds mutex_.
  // Places: threads, plus the queue once the pool is at pm.max_children.
  int do_capacity() const;
  bool do_may_accept() const;
  bool do_requests_left(long promised) const;
  bool do_overflow_allowed() const;
  bool do_flooded() const;
  void do_release(AdmissionTicket& ticket);
  void do_change_waiting(int delta);

  const AdmissionRules rules_;
  std::function<bool()> at_max_children_;
  std::function<void(int)> report_waiting_;
  std::function<bool()> pool_saturated_;
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::vector<Reservation> reservations_;
  int in_flight_ = 0;  // admitted, not finished (may exceed threads: queued)
  int kept_ = 0;       // of which kept connections' requests
  int queued_ = 0;     // of which in the loop's queue
  long served_ = 0;
  long shed_ = 0;
  int waiting_ = 0;
  int unheard_ = 0;
  std::optional<Time> backlog_since_;
};

}  // namespace cppfpm::server
