// The bounded queue and the 503 (pm.reject_when_full, pm.queue_timeout):
// Admission driven by hand, with the pool's saturation a flag the test sets.
// admission_test.cpp holds the accepting rules.
#include <catch2/catch.hpp>

#include <deque>

#include "server/fastcgi/admission.h"

using cppfpm::server::Admission;
using cppfpm::server::AdmissionRules;
using cppfpm::server::AdmissionTicket;
using Kind = AdmissionTicket::Kind;
using Admit = Admission::Admit;

namespace {

struct Pool {
  Pool(int threads, int queue, bool shed = true, long max_requests = 0)
      : admission(
            AdmissionRules{
                .threads = threads, .queue = queue, .max_requests = max_requests, .shed = shed},
            [this] { return at_max_children; }, [this](int n) { reported_waiting = n; },
            [this] { return saturated; }) {}

  AdmissionTicket& accept(Kind kind = Kind::pool) {
    tickets.emplace_back();
    admission.accepted(tickets.back(), kind, now);
    return tickets.back();
  }
  // Accepted, its head whole: what admission makes of it.
  Admit arrive(Kind kind = Kind::pool) {
    AdmissionTicket& t = accept(kind);
    admission.head_arrived(t);
    return admission.admit(t);
  }
  AdmissionTicket& last() { return tickets.back(); }

  Admission::Time now{};
  bool at_max_children = true;
  bool saturated = true;
  int reported_waiting = 0;
  std::deque<AdmissionTicket> tickets;
  Admission admission;
};

}  // namespace

TEST_CASE("queue: threads, then the queue, then 503", "[admission][queue]") {
  Pool p(2, 1);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.admission.waiting() == 1);
  CHECK(p.reported_waiting == 1);
  CHECK(p.arrive() == Admit::shed);
  CHECK(p.arrive() == Admit::shed);
  CHECK(p.admission.shed() == 2);
  CHECK(p.admission.in_flight() == 3);
  CHECK(p.admission.queued() == 1);
  CHECK(p.admission.waiting() == 1);
  // A thread frees: the queued one goes, and the queue has room again.
  CHECK_FALSE(p.admission.thread_free());
  p.admission.finished(false);
  CHECK(p.admission.thread_free());
  p.admission.taken(p.tickets[2]);
  CHECK(p.admission.waiting() == 0);
  CHECK(p.admission.queued() == 0);
  CHECK(p.arrive() == Admit::queue);
}

TEST_CASE("queue: no queue, a busy pool answers 503 at once", "[admission][queue]") {
  Pool p(1, 0);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::shed);
  p.admission.finished(false);
  CHECK(p.arrive() == Admit::serve);
}

TEST_CASE("queue: requests wait in order, a fresh head goes behind the queued ones",
          "[admission][queue]") {
  Pool p(1, 2);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::queue);
  AdmissionTicket& first = p.last();
  p.admission.finished(false);
  // A thread is free, but a request waits for it: the new head queues
  // behind it (the loop hands them over in order), even past the bound.
  CHECK(p.admission.thread_free());
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.admission.queued() == 3);
  p.admission.taken(first);
  CHECK_FALSE(p.admission.thread_free());
  CHECK(p.admission.queued() == 2);
}

TEST_CASE("queue: a request that waited too long is answered 503 and gives its place back",
          "[admission][queue]") {
  Pool p(1, 1);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::queue);
  AdmissionTicket& waiting = p.last();
  CHECK(p.arrive() == Admit::shed);
  p.admission.expired(waiting);
  CHECK(p.admission.shed() == 2);
  CHECK(p.admission.queued() == 0);
  CHECK(p.admission.in_flight() == 1);
  CHECK(p.admission.waiting() == 0);
  CHECK(p.reported_waiting == 0);
  // Once only; and a request that was handed over does not expire.
  p.admission.expired(waiting);
  CHECK(p.admission.in_flight() == 1);
  CHECK(p.arrive() == Admit::queue);
  AdmissionTicket& next = p.last();
  p.admission.finished(false);
  p.admission.taken(next);
  p.admission.expired(next);
  CHECK(p.admission.in_flight() == 1);
  CHECK(p.admission.shed() == 2);
}

TEST_CASE("queue: while another child has a free thread nothing is refused", "[admission][queue]") {
  Pool p(1, 1);
  p.saturated = false;
  CHECK(p.arrive() == Admit::serve);
  // A kept connection's requests can only be served here: they wait.
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.admission.shed() == 0);
  CHECK_FALSE(p.admission.may_shed());
  p.saturated = true;
  CHECK(p.arrive() == Admit::shed);
}

TEST_CASE("queue: without pm.reject_when_full the queue only waits", "[admission][queue]") {
  Pool p(1, 0, false);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::queue);
  CHECK(p.arrive() == Admit::queue);
  CHECK_FALSE(p.admission.may_shed());
  CHECK(p.admission.overflow_allowed() == false);  // two already queued past the bound
}

TEST_CASE("queue: the pool's socket is taken for 503s only when the whole pool is full",
          "[admission][queue]") {
  Pool p(2, 1);
  CHECK_FALSE(p.admission.may_shed());  // threads free: accepted normally
  p.arrive();
  p.arrive();
  p.arrive();
  CHECK_FALSE(p.admission.may_accept());
  CHECK(p.admission.may_shed());
  // Shedding replaces the overflow rule: the backlog is not left to wait.
  CHECK_FALSE(p.admission.overflow_allowed());
  p.saturated = false;  // another child freed a thread: the backlog is its
  CHECK_FALSE(p.admission.may_shed());
  p.saturated = true;
  p.admission.finished(false);
  p.admission.taken(p.tickets[2]);
  CHECK(p.admission.may_accept());
  CHECK_FALSE(p.admission.may_shed());
}

TEST_CASE("queue: a connection taken to be refused waits, and is served if a place freed",
          "[admission][queue]") {
  Pool p(1, 0);
  CHECK(p.arrive() == Admit::serve);
  REQUIRE(p.admission.may_shed());
  AdmissionTicket& extra = p.accept(Kind::shed);
  // No place promised to it, but it waits as it would in the backlog.
  CHECK(p.admission.reserved() == 0);
  CHECK(p.admission.waiting() == 1);
  CHECK(p.admission.unheard() == 1);
  p.admission.finished(false);  // the busy thread finished meanwhile
  p.admission.head_arrived(extra);
  CHECK(p.admission.waiting() == 0);
  CHECK(p.admission.admit(extra) == Admit::serve);
  CHECK(p.admission.shed() == 0);
  // One that closes silent stops waiting too.
  AdmissionTicket& silent = p.accept(Kind::shed);
  p.admission.closed(silent);
  CHECK(p.admission.waiting() == 0);
  CHECK(p.admission.unheard() == 0);
}

TEST_CASE("queue: a connection taken to be refused takes no place promised to one before it",
          "[admission][queue]") {
  Pool p(2, 2);
  CHECK(p.arrive() == Admit::serve);
  CHECK(p.arrive() == Admit::serve);
  // Two accepted into the queue's places, their heads not in yet.
  AdmissionTicket& third = p.accept();
  AdmissionTicket& fourth = p.accept();
  CHECK(p.admission.reserved() == 2);
  CHECK_FALSE(p.admission.may_accept());
  REQUIRE(p.admission.may_shed());
  // A later connection's head comes first: the places are not its.
  AdmissionTicket& extra = p.accept(Kind::shed);
  p.admission.head_arrived(extra);
  CHECK(p.admission.admit(extra) == Admit::shed);
  p.admission.head_arrived(third);
  CHECK(p.admission.admit(third) == Admit::queue);
  p.admission.head_arrived(fourth);
  CHECK(p.admission.admit(fourth) == Admit::queue);
  CHECK(p.admission.shed() == 1);
  CHECK(p.admission.queued() == 2);
}

TEST_CASE("queue: a connection taken to be refused takes no thread promised to one before it",
          "[admission][queue]") {
  Pool p(1, 0);
  CHECK(p.arrive() == Admit::serve);
  AdmissionTicket& extra = p.accept(Kind::shed);
  p.admission.finished(false);  // the thread frees; the next accepted is promised it
  REQUIRE(p.admission.may_accept());
  AdmissionTicket& promised = p.accept();
  p.admission.head_arrived(extra);
  CHECK(p.admission.admit(extra) == Admit::shed);
  p.admission.head_arrived(promised);
  CHECK(p.admission.admit(promised) == Admit::serve);
  // Once the reservation is gone (its head in, or 100 ms), a free place is anyone's.
  p.admission.finished(false);
  CHECK(p.arrive(Kind::shed) == Admit::serve);
}

TEST_CASE("queue: a child at pm.max_requests takes nothing, not even to refuse it",
          "[admission][queue]") {
  Pool p(1, 0, true, 1);
  CHECK(p.arrive() == Admit::serve);
  CHECK_FALSE(p.admission.may_accept());
  CHECK_FALSE(p.admission.may_shed());
}
