// The slow-client half of the event loop: a partial head waits for new
// bytes (edge-triggered) instead of being peeked at again and again, a
// peer's EOF on half a head closes at once, and the rules of
// event_loop_heads (first-byte and head timeouts, pm.max_pending_heads) are
// applied, each kind of closing logged once per interval with a count; on a
// graceful stop, half a head is not waited for.
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "server/fastcgi/event_loop.h"

namespace cppfpm::server {

void EventLoop::await_rest_of_head(Connection* c, std::uint32_t events) {
  auto now = std::chrono::steady_clock::now();
  if (events & (EPOLLRDHUP | EPOLLHUP)) {
    // The peer shut its side: the head can never be completed.
    close_slow(c, eof_in_head, now);
    return;
  }
  heads_.partial(c, counts_in_cap(c), now);
  if (c->edge_armed) return;
  // The peeked bytes stay in the socket, so level-triggered EPOLLIN would
  // report them again at once; edge-triggered, epoll reports new bytes and
  // the peer's EOF only (the first MOD reports what is there once more).
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c->fd.get(), &ev) != 0) {
    spdlog::warn("epoll_ctl(MOD) failed: {} ({}), closing the connection", std::strerror(errno),
                 errno);
    close_connection(c);
    return;
  }
  c->edge_armed = true;
}

void EventLoop::head_complete(Connection* c) {
  heads_.done(c);
  if (!c->edge_armed) return;  // a one-shot event already disarmed it
  // Without EPOLLONESHOT it would still report events while a worker reads;
  // rearm() adds it back.
  c->edge_armed = false;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr) != 0)
    spdlog::warn("epoll_ctl(DEL) failed: {} ({})", std::strerror(errno), errno);
}

void EventLoop::close_slow(Connection* c, SlowKind kind, TimePoint now) {
  std::string peer = ClientFilter::peer_text(c->peer);
  std::string why;
  const HeadRules& rules = heads_.rules();
  switch (kind) {
    case first_byte:
      why = "nothing received " + std::to_string(rules.first_byte_timeout.count()) +
            " ms after accepting it (request_head_first_byte_timeout)";
      break;
    case head_timeout:
      why = "request head incomplete after " + std::to_string(rules.head_timeout.count()) + " ms";
      break;
    case over_cap:
      why = "more than " + std::to_string(rules.max_pending) +
            " connections without a request (pm.max_pending_heads), the oldest is closed first";
      break;
    case eof_in_head:
      why = "the peer closed it with the request head incomplete";
      break;
  }
  for (const std::string& line :
       slow_log_.event(kind, "closing FastCGI connection from " + peer + ": " + why, now))
    spdlog::warn("{}", line);
  close_connection(c);
}

// Called while the turn's events are being handled: the connection closed
// here may have one of them still to come, which is skipped.
void EventLoop::make_room_for_head(TimePoint now) {
  std::size_t cap = heads_.rules().max_pending;
  if (cap == 0 || heads_.pending() < cap) return;
  for (HeadWatch::Key oldest : heads_.oldest(heads_.pending() - cap + 1)) {
    auto* c = static_cast<Connection*>(const_cast<void*>(oldest));
    evicted_.insert(c);
    close_slow(c, over_cap, now);
  }
}

void EventLoop::enforce_head_rules(TimePoint now) {
  auto connection = [](HeadWatch::Key key) {
    return static_cast<Connection*>(const_cast<void*>(key));
  };
  for (const HeadWatch::Expired& due : heads_.expired(now))
    close_slow(connection(due.key),
               due.why == HeadWatch::Expiry::first_byte ? first_byte : head_timeout, now);
  for (HeadWatch::Key oldest : heads_.over_cap()) close_slow(connection(oldest), over_cap, now);
}

// A request already whole in the socket is still served (its epoll event
// comes), and a fresh connection that has sent nothing gets a moment for its
// first request, which nginx writes right after connecting. Half a head is
// not waited for: it could hold the stop up to the head timeout, and nginx
// retries an idempotent request on another upstream once it is closed.
//
// A kept connection with nothing in it is not closed at once: nginx may take
// it from its cache and write a request at that very moment, and a POST that
// meets the close is lost (nginx retries none). It is served once more and
// closed right after that answer (rearm), whose FIN nginx sees before it
// caches the connection again; one nginx leaves unused for kKeptIdle (it
// has others at hand) is closed idle, and every one by kKeptDrain.
//
// Stopping for a reload, a kept connection (half a head included) is handed
// to the next generation instead (hand_over_idle_locked); one still here
// could not be sent yet and is waited for up to kKeptDrain.
bool EventLoop::worth_waiting_for(Connection* c, TimePoint now) {
  constexpr auto kKeptIdle = std::chrono::milliseconds(1000);
  constexpr auto kKeptDrain = std::chrono::seconds(10);
  bool draining = graceful_since_ && now - *graceful_since_ < kKeptDrain;
  bool handing = c->requests.load() > 0 && c->admission.kind() != Kind::status_only && hands_over();
  PeekedHead head = peek_head(c);
  switch (head.state) {
    case PeekedHead::State::bytes:
      if (handing && head.screen.verdict == Verdict::need_more) return draining;
      return head.screen.verdict == Verdict::complete || head.screen.verdict == Verdict::management;
    case PeekedHead::State::gone:
      return false;
    case PeekedHead::State::nothing:
      break;
  }
  if (c->requests.load() == 0) return now - c->accepted_at < std::chrono::seconds(2);
  if (handing) return draining;
  return draining && now - c->idle_since < kKeptIdle;
}

}  // namespace cppfpm::server
