// Admission of kept connections' requests: they take a thread, never a
// place of the queue, which stays for new connections. Driven by hand, no
// sockets, threads or clock.
#include <catch2/catch.hpp>

#include <deque>
#include <vector>

#include "server/fastcgi/admission.h"

using cppfpm::server::Admission;
using cppfpm::server::AdmissionRules;
using cppfpm::server::AdmissionTicket;
using Kind = AdmissionTicket::Kind;
using Admit = Admission::Admit;

namespace {

struct Child {
  Child(int threads, int queue)
      : admission(
            AdmissionRules{.threads = threads, .queue = queue}, [] { return true; }, {},
            [this] { return saturated; }) {}

  // A new connection: accepted, its head whole, admitted.
  AdmissionTicket& new_request(Admit* admitted = nullptr) {
    tickets.emplace_back();
    AdmissionTicket& t = tickets.back();
    admission.accepted(t, Kind::pool, {});
    admission.head_arrived(t);
    Admit a = admission.admit(t);
    if (admitted) *admitted = a;
    return t;
  }
  // A worker thread takes the request of `t` and finishes it, as
  // ChildServer::serve_on_worker does.
  bool done(AdmissionTicket& t) {
    const bool kept = admission.taken(t);
    return admission.finished(false, kept);
  }
  // The next request on connection `t`, which nginx kept.
  Admit next_request(AdmissionTicket& t) { return admission.admit(t); }
  // A connection handed over by the previous generation: never accepted here.
  AdmissionTicket& handed_request() {
    tickets.emplace_back();
    admission.admit(tickets.back());
    return tickets.back();
  }

  bool saturated = true;  // every other child busy
  std::deque<AdmissionTicket> tickets;
  Admission admission;
};

}  // namespace

TEST_CASE("admission: kept connections' requests take no place of the queue", "[admission]") {
  Child child(2, 2);
  // Four connections nginx keeps: their first requests came as new ones,
  // two on the threads and two queued.
  std::vector<AdmissionTicket*> kept;
  for (int i = 0; i < 4; ++i) kept.push_back(&child.new_request());
  CHECK_FALSE(child.admission.may_accept());
  for (AdmissionTicket* t : kept) {
    CHECK_FALSE(child.done(*t));
  }
  CHECK(child.admission.in_flight() == 0);
  // Their next requests: two on the threads, two queued.
  CHECK(child.next_request(*kept[0]) == Admit::serve);
  CHECK(child.next_request(*kept[1]) == Admit::serve);
  CHECK(child.next_request(*kept[2]) == Admit::queue);
  CHECK(child.next_request(*kept[3]) == Admit::queue);
  CHECK(child.admission.kept() == 4);
  // New connections still have threads + queue places: 4.
  int taken = 0;
  while (child.admission.may_accept() && taken < 10) {
    Admit admitted{};
    child.new_request(&admitted);
    CHECK(admitted == Admit::queue);  // behind the kept ones, FIFO
    ++taken;
  }
  CHECK(taken == 4);
  CHECK(child.admission.in_flight() == 8);
  // A kept request done gives its count back, and no place to new ones.
  child.done(*kept[0]);
  CHECK(child.admission.kept() == 3);
  CHECK_FALSE(child.admission.may_accept());
  // A new one done gives a place back.
  AdmissionTicket& first_new = child.tickets[4];
  child.done(first_new);
  CHECK(child.admission.may_accept());
}

TEST_CASE("admission: a kept request still needs a free thread while another child has one",
          "[admission]") {
  Child child(2, 2);
  child.saturated = false;  // another child has a free thread: no queue here
  AdmissionTicket& a = child.new_request();
  AdmissionTicket& b = child.new_request();
  child.done(a);
  child.done(b);
  CHECK(child.next_request(a) == Admit::serve);
  CHECK(child.next_request(b) == Admit::serve);
  // Both threads busy with kept requests: the backlog is for the other child.
  CHECK_FALSE(child.admission.may_accept());
  child.saturated = true;
  CHECK(child.admission.may_accept());
}

TEST_CASE("admission: a handed-over connection's request counts as kept", "[admission]") {
  Child child(1, 1);
  AdmissionTicket& handed = child.handed_request();
  CHECK(child.admission.kept() == 1);
  CHECK(child.admission.in_flight() == 1);
  CHECK(child.admission.may_accept());  // the queue's place is free
  child.done(handed);
  CHECK(child.admission.kept() == 0);
  CHECK(child.admission.in_flight() == 0);
}

TEST_CASE("admission: a kept request that expires in the queue gives its count back",
          "[admission]") {
  Child child(1, 1);
  AdmissionTicket& busy = child.new_request();
  AdmissionTicket& kept = child.new_request();  // queued behind it
  CHECK_FALSE(child.admission.may_accept());
  child.done(kept);
  child.done(busy);
  child.new_request();  // on the thread
  CHECK(child.next_request(kept) == Admit::queue);
  CHECK(child.admission.kept() == 1);
  child.admission.expired(kept);
  CHECK(child.admission.kept() == 0);
  CHECK(child.admission.in_flight() == 1);
  CHECK(child.admission.may_accept());  // one new request of 1 thread + 1 queue place
}

TEST_CASE("admission: pm.reject_when_full counts the queue's places without kept requests",
          "[admission]") {
  Admission admission(AdmissionRules{.threads = 1, .queue = 1, .shed = true}, [] { return true; });
  // Three connections nginx keeps, whose first requests are done.
  std::deque<AdmissionTicket> kept(3);
  for (AdmissionTicket& t : kept) {
    admission.accepted(t, Kind::pool, {});
    admission.head_arrived(t);
    REQUIRE(admission.admit(t) == Admit::serve);
    admission.finished(false, admission.taken(t));
  }
  // Their next requests: one on the thread, two queued (kept requests may
  // pass the queue's bound: only this child can serve them).
  CHECK(admission.admit(kept[0]) == Admit::serve);
  CHECK(admission.admit(kept[1]) == Admit::queue);
  CHECK(admission.admit(kept[2]) == Admit::queue);
  // New connections still have their two places (thread + queue):
  // accepted, and queued, not shed.
  std::deque<AdmissionTicket> fresh(2);
  for (AdmissionTicket& t : fresh) {
    CHECK(admission.may_accept());
    admission.accepted(t, Kind::pool, {});
    admission.head_arrived(t);
    CHECK(admission.admit(t) == Admit::queue);
  }
  // The third finds both places taken by new connections: the pool is
  // full, it is answered 503.
  CHECK_FALSE(admission.may_accept());
  AdmissionTicket late;
  admission.accepted(late, Kind::shed, {});
  admission.head_arrived(late);
  CHECK(admission.admit(late) == Admit::shed);
  CHECK(admission.shed() == 1);
}
