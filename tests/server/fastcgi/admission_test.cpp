// The admission policy, driven by hand with a fake clock: no sockets, no
// threads, no sleeps.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "server/fastcgi/admission.h"

using namespace std::chrono_literals;
using cppfpm::server::Admission;
using cppfpm::server::AdmissionRules;
using cppfpm::server::AdmissionTicket;
using Kind = AdmissionTicket::Kind;

namespace {

// An Admission with a clock the test moves, the pool's "at max children"
// fact it sets, and the waiting count as the scoreboard would receive it.
struct Fixture {
  explicit Fixture(int threads, long max_requests = 0, int queue = 0)
      : admission(
            AdmissionRules{.threads = threads, .queue = queue, .max_requests = max_requests},
            [this] { return at_max_children; }, [this](int n) { reported_waiting = n; }) {}

  AdmissionTicket& accept(Kind kind = Kind::pool) {
    tickets.emplace_back();
    admission.accepted(tickets.back(), kind, now);
    return tickets.back();
  }
  // Accepted, head complete, handed to a worker.
  AdmissionTicket& dispatch_new() {
    AdmissionTicket& t = accept();
    admission.head_arrived(t);
    admission.admit(t);
    return t;
  }
  void advance(std::chrono::milliseconds d) {
    now += d;
    admission.tick(now);
  }
  // The backlog has a connection from now on: true once the rule takes it.
  bool overflow_after(std::chrono::milliseconds wait) {
    if (admission.overflow_due(true, now)) return true;
    advance(wait);
    return admission.overflow_due(true, now);
  }

  Admission::Time now{};
  bool at_max_children = true;
  int reported_waiting = 0;
  std::deque<AdmissionTicket> tickets;  // stable addresses
  Admission admission;
};

}  // namespace

TEST_CASE("admission: accepts while a thread is free, not beyond", "[admission]") {
  Fixture f(2);
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
  CHECK(f.admission.in_flight() == 2);
  CHECK_FALSE(f.admission.finished(false));
  CHECK(f.admission.may_accept());
  CHECK(f.admission.in_flight() == 1);
}

TEST_CASE("admission: a fresh connection holds a thread's place until its head arrives",
          "[admission]") {
  Fixture f(2);
  AdmissionTicket& a = f.accept();
  f.accept();
  CHECK(f.admission.reserved() == 2);
  CHECK_FALSE(f.admission.may_accept());
  // Its head arrived: the reservation becomes a request in flight.
  f.admission.head_arrived(a);
  f.admission.admit(a);
  CHECK(f.admission.reserved() == 1);
  CHECK_FALSE(f.admission.may_accept());
  f.admission.finished(false);
  CHECK(f.admission.may_accept());
}

TEST_CASE("admission: a reservation ends after 100 ms or when the connection closes",
          "[admission]") {
  Fixture f(1);
  f.accept();
  CHECK_FALSE(f.admission.may_accept());
  CHECK(f.admission.next_check(f.now) == 20ms);  // saturated: the backlog is looked at
  f.advance(99ms);
  CHECK_FALSE(f.admission.may_accept());
  f.advance(1ms);
  CHECK(f.admission.reserved() == 0);
  CHECK(f.admission.may_accept());

  AdmissionTicket& b = f.accept();
  CHECK_FALSE(f.admission.may_accept());
  f.admission.closed(b);
  CHECK(f.admission.may_accept());
  // Closing twice, or after expiry, gives back nothing more.
  f.admission.closed(b);
  CHECK(f.admission.reserved() == 0);
}

TEST_CASE("admission: next_check is the earliest reservation expiry", "[admission]") {
  Fixture f(4);
  CHECK_FALSE(f.admission.next_check(f.now).has_value());
  f.accept();
  f.now += 30ms;
  f.accept();
  CHECK(f.admission.next_check(f.now) == 70ms);
  f.advance(70ms);
  CHECK(f.admission.next_check(f.now) == 30ms);
}

TEST_CASE("admission: status-only connections count in no capacity", "[admission]") {
  Fixture f(1);
  for (int i = 0; i < 5; ++i) f.accept(Kind::status_only);
  CHECK(f.admission.reserved() == 0);
  CHECK(f.admission.may_accept());
  CHECK(f.tickets.front().kind() == Kind::status_only);
  f.admission.head_arrived(f.tickets.front());
  f.admission.closed(f.tickets.back());
  CHECK(f.admission.may_accept());
  CHECK(f.admission.waiting() == 0);
}

TEST_CASE("admission: a request handed over while every thread is busy waits in the queue",
          "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  // A kept-alive connection's next request comes while the thread is busy.
  AdmissionTicket& second = f.dispatch_new();
  CHECK(f.admission.waiting() == 1);
  CHECK(f.reported_waiting == 1);
  f.admission.finished(false);
  f.admission.taken(second);
  CHECK(f.admission.waiting() == 0);
  CHECK(f.reported_waiting == 0);
  // Taking a connection that did not wait changes nothing.
  f.admission.taken(second);
  CHECK(f.admission.waiting() == 0);
}

TEST_CASE("admission: at pm.max_children a child queues up to its bound, FIFO after its threads",
          "[admission]") {
  Fixture f(2, 0, 2);
  f.dispatch_new();
  f.dispatch_new();
  // Both threads busy: two more are taken and wait in the child.
  CHECK(f.admission.may_accept());
  AdmissionTicket& third = f.dispatch_new();
  CHECK(f.admission.waiting() == 1);
  CHECK(f.admission.may_accept());
  AdmissionTicket& fourth = f.accept();
  // A fresh connection holds its place in the queue until its head arrives,
  // and waits (the status page's listen queue) as it would in the backlog.
  CHECK_FALSE(f.admission.may_accept());
  CHECK(f.admission.waiting() == 2);
  f.admission.head_arrived(fourth);
  CHECK(f.admission.waiting() == 1);
  f.admission.admit(fourth);
  CHECK(f.admission.waiting() == 2);
  CHECK(f.reported_waiting == 2);
  CHECK_FALSE(f.admission.may_accept());
  // At the bound only the overflow rule takes one (a probe, after 200 ms);
  // past it (a kept connection's request may go past: it is here already)
  // not even that.
  CHECK(f.admission.overflow_allowed());
  f.dispatch_new();
  CHECK_FALSE(f.admission.overflow_allowed());
  CHECK_FALSE(f.overflow_after(1s));
  // A thread frees and takes the oldest queued head.
  f.admission.finished(false);
  f.admission.taken(third);
  CHECK(f.admission.waiting() == 2);
  CHECK_FALSE(f.admission.may_accept());
  f.admission.finished(false);
  f.admission.taken(fourth);
  CHECK(f.admission.waiting() == 1);
  CHECK(f.admission.may_accept());
}

TEST_CASE("admission: below pm.max_children no queue: the backlog shows the pm the pressure",
          "[admission]") {
  Fixture f(2, 0, 2);
  f.at_max_children = false;
  f.dispatch_new();
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
  CHECK(f.admission.next_check(f.now) == 20ms);
  // The pm reached pm.max_children: the queue opens.
  f.at_max_children = true;
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
  CHECK(f.admission.waiting() == 2);
}

TEST_CASE("admission: no queue while another child has a free thread", "[admission]") {
  bool saturated = false;
  Admission admission(
      AdmissionRules{.threads = 1, .queue = 1}, [] { return true; }, {}, [&] { return saturated; });
  AdmissionTicket busy;
  admission.accepted(busy, Kind::pool, {});
  admission.head_arrived(busy);
  admission.admit(busy);
  // At pm.max_children, but the other child is free: the backlog is for it.
  CHECK_FALSE(admission.may_accept());
  saturated = true;
  CHECK(admission.may_accept());
}

TEST_CASE("admission: the queue does not pass pm.max_requests", "[admission]") {
  Fixture f(1, 2, 4);
  f.dispatch_new();
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
}

TEST_CASE("admission: overflow only at pm.max_children", "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  f.at_max_children = false;
  CHECK_FALSE(f.admission.overflow_allowed());
  CHECK_FALSE(f.overflow_after(1s));
  f.at_max_children = true;
  CHECK(f.admission.overflow_allowed());
}

TEST_CASE("admission: overflow after the backlog stayed non-empty for 200 ms", "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  CHECK_FALSE(f.admission.overflow_due(true, f.now));  // first seen
  f.advance(199ms);
  CHECK_FALSE(f.admission.overflow_due(true, f.now));
  // The backlog emptied (another child took it): the wait starts again.
  f.advance(1ms);
  CHECK_FALSE(f.admission.overflow_due(false, f.now));
  CHECK_FALSE(f.admission.overflow_due(true, f.now));
  f.advance(199ms);
  CHECK_FALSE(f.admission.overflow_due(true, f.now));
  f.advance(1ms);
  CHECK(f.admission.overflow_due(true, f.now));
}

TEST_CASE("admission: a connection taken while saturated waits until its head arrives",
          "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  REQUIRE(f.overflow_after(200ms));
  AdmissionTicket& probe = f.accept(Kind::overflow);
  CHECK(f.admission.waiting() == 1);
  CHECK(f.reported_waiting == 1);
  // A status probe: answered in the loop, it waits no more.
  f.admission.head_arrived(probe);
  CHECK(f.admission.waiting() == 0);
  CHECK(f.reported_waiting == 0);

  // A page: it waits, then waits in the queue for the busy thread.
  REQUIRE(f.overflow_after(200ms));
  AdmissionTicket& page = f.accept(Kind::overflow);
  f.admission.head_arrived(page);
  f.admission.admit(page);
  CHECK(f.admission.waiting() == 1);
  f.admission.finished(false);
  f.admission.taken(page);
  CHECK(f.admission.waiting() == 0);

  // One that closes before sending stops waiting too.
  f.admission.finished(false);
  f.dispatch_new();
  REQUIRE(f.overflow_after(200ms));
  AdmissionTicket& gone = f.accept(Kind::overflow);
  f.admission.closed(gone);
  CHECK(f.admission.waiting() == 0);
}

TEST_CASE("admission: overflow one at a time, never with a request queued", "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  REQUIRE(f.overflow_after(200ms));
  AdmissionTicket& first = f.accept(Kind::overflow);
  // Not while the last one taken holds its reservation.
  CHECK_FALSE(f.admission.overflow_allowed());
  CHECK_FALSE(f.overflow_after(99ms));
  f.admission.head_arrived(first);
  f.admission.admit(first);  // queued behind the busy thread
  CHECK(f.admission.waiting() == 1);
  CHECK_FALSE(f.admission.overflow_allowed());
  CHECK_FALSE(f.overflow_after(1s));
  // The queued one reached a thread: the next may come.
  f.admission.finished(false);
  f.admission.taken(first);
  CHECK(f.admission.overflow_allowed());
}

TEST_CASE("admission: an overflow connection that stays silent frees its place after 100 ms",
          "[admission]") {
  Fixture f(1);
  f.dispatch_new();
  REQUIRE(f.overflow_after(200ms));
  f.accept(Kind::overflow);
  f.advance(100ms);
  CHECK(f.admission.reserved() == 0);
  CHECK(f.admission.waiting() == 1);  // still counted until it sends or closes
  CHECK(f.admission.overflow_allowed());
}

TEST_CASE("admission: pm.max_requests lets no request slip past", "[admission]") {
  Fixture f(2, 3);
  f.dispatch_new();
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
  CHECK_FALSE(f.admission.finished(false));
  // Served 1, one in flight: room for one more request, not two.
  CHECK(f.admission.may_accept());
  AdmissionTicket& third = f.accept();
  CHECK_FALSE(f.admission.may_accept());
  f.admission.head_arrived(third);
  f.admission.admit(third);
  CHECK_FALSE(f.admission.finished(false));
  // A thread is free, but the one request left is in flight.
  CHECK(f.admission.in_flight() == 1);
  CHECK_FALSE(f.admission.may_accept());
  CHECK_FALSE(f.admission.overflow_allowed());
  CHECK_FALSE(f.overflow_after(1s));
  CHECK(f.admission.finished(false));  // the third: the child finishes
  CHECK(f.admission.served() == 3);
  CHECK_FALSE(f.admission.may_accept());
}

TEST_CASE("admission: a terminated request gives its place back once", "[admission]") {
  Fixture f(1, 0);
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
  f.admission.terminated();  // the watchdog gave up on the thread
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  // The abandoned thread's handler returns at last: counted, no place given.
  CHECK_FALSE(f.admission.finished(true));
  CHECK(f.admission.served() == 1);
  CHECK(f.admission.in_flight() == 1);
  CHECK_FALSE(f.admission.may_accept());
}

TEST_CASE("admission: no limit without pm.max_requests", "[admission]") {
  Fixture f(1, 0);
  for (int i = 0; i < 1000; ++i) {
    f.dispatch_new();
    REQUIRE_FALSE(f.admission.finished(false));
  }
  CHECK(f.admission.may_accept());
}

TEST_CASE("admission: worker threads report concurrently without losing a count", "[admission]") {
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  Fixture f(1, 3 * kEach);
  for (int i = 0; i < kThreads * kEach; ++i) f.dispatch_new();
  std::atomic<int> reached{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        if (f.admission.finished(false)) reached.fetch_add(1);
    });
  for (auto& w : workers) w.join();
  CHECK(f.admission.in_flight() == 0);
  CHECK(f.admission.served() == kThreads * kEach);
  // Requests 15000 to 20000 each reached the limit: each says so once.
  CHECK(reached.load() == kEach + 1);
}

TEST_CASE("admission: flooded by silent connections, the child keeps accepting", "[admission]") {
  Fixture f(2);
  f.dispatch_new();
  f.dispatch_new();  // both threads busy
  CHECK_FALSE(f.admission.may_accept());
  // Connections taken while saturated (overflow), each silent past its
  // reservation: below the flood threshold nothing changes.
  for (int i = 0; i < 15; ++i) {
    f.tickets.emplace_back();
    f.admission.accepted(f.tickets.back(), Kind::pool, f.now);
    f.advance(100ms);
  }
  CHECK(f.admission.unheard() == 15);
  CHECK_FALSE(f.admission.flooded());
  CHECK_FALSE(f.admission.may_accept());
  AdmissionTicket& last = f.accept();
  CHECK_FALSE(f.admission.flooded());  // still within its reservation
  f.advance(100ms);
  CHECK(f.admission.flooded());
  CHECK(f.admission.may_accept());
  // One of them sends its head (or is closed): no longer a flood.
  f.admission.head_arrived(last);
  CHECK_FALSE(f.admission.flooded());
  CHECK_FALSE(f.admission.may_accept());
  f.admission.closed(last);  // counted once
  CHECK(f.admission.unheard() == 15);
}

TEST_CASE("admission: a flood does not pass pm.max_requests", "[admission]") {
  Fixture f(1, 1);
  for (int i = 0; i < 16; ++i) {
    f.tickets.emplace_back();
    f.admission.accepted(f.tickets.back(), Kind::pool, f.now);
    f.advance(100ms);
  }
  CHECK(f.admission.flooded());
  CHECK(f.admission.may_accept());
  f.dispatch_new();
  CHECK_FALSE(f.admission.may_accept());
}
