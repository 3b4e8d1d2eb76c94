#include "server/fastcgi/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

namespace cppfpm::server {
namespace {

// epoll_event.data holds either a Connection* or, for the loop's own fds,
// the fd number itself; fds are far below any heap address.
constexpr std::uint64_t kMaxTaggedFd = 1u << 24;
constexpr int kMaxEvents = 128;
// The watchdog's pace: request_terminate_timeout is kept to within this
// (php-fpm paces its own check by the smallest timeout, at least 130 ms).
constexpr auto kTick = std::chrono::milliseconds(250);

[[noreturn]] void throw_failed(const char* call) {
  int error = errno;
  throw std::runtime_error(std::string(call) + " failed: " + std::strerror(error) + " (" +
                           std::to_string(error) + ")");
}

}  // namespace

EventLoop::EventLoop(int listen_fd, ClientFilter filter, LoopOptions options, Admission& admission,
                     LoopHost& host)
    : listen_fd_(listen_fd),
      filter_(std::move(filter)),
      options_(options),
      admission_(admission),
      host_(host),
      heads_(options.heads) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_failed("epoll_create1()");
  wakeup_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup_) throw_failed("eventfd()");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint64_t>(wakeup_.get());
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev) != 0)
    throw_failed("epoll_ctl(ADD, eventfd)");
  // EPOLLEXCLUSIVE: every child waits on the same inherited socket; wake
  // one of them per connection, not all (thundering herd).
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = static_cast<std::uint64_t>(listen_fd_);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd_, &ev) != 0)
    throw_failed("epoll_ctl(ADD, listen)");
  size_receive_buffer();
}

EventLoop::~EventLoop() = default;

void EventLoop::watch(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw_failed("epoll_ctl(ADD, watched fd)");
  watched_.insert(fd);
}

void EventLoop::set_handoff(HandoffSockets sockets, std::function<bool()> permitted) {
  handoff_ = sockets;
  handoff_permitted_ = std::move(permitted);
  if (handoff_.valid())
    set_polled(handoff_.receive, true, handoff_polled_, "the reload handoff socket");
}

bool EventLoop::hands_over() const {
  return graceful_.load() && !stop_now_.load() && handoff_.valid() && handoff_permitted_ &&
         handoff_permitted_();
}

void EventLoop::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeup_.get(), &one, sizeof(one));
}

void EventLoop::stop_gracefully() {
  graceful_ = true;
  wake();
}

void EventLoop::stop_now() {
  stop_now_ = true;
  wake();
}

std::size_t EventLoop::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

// Until the next tick, or sooner: a slow client's time running out,
// admission's own deadlines (reservations, the saturated backlog), the end
// of a back-off.
int EventLoop::next_timeout(TimePoint now, TimePoint last_tick) const {
  using std::chrono::milliseconds;
  auto timeout =
      std::max(milliseconds(1), std::chrono::ceil<milliseconds>(kTick - (now - last_tick)));
  if (auto next = heads_.next_deadline(now)) timeout = std::min(timeout, *next);
  // Stopping: kept connections are looked at again soon (worth_waiting_for).
  if (graceful_) timeout = std::min(timeout, std::chrono::milliseconds(50));
  if (auto next = queue_deadline(now)) timeout = std::min(timeout, *next);
  if (!graceful_) {
    if (auto next = admission_.next_check(now)) timeout = std::min(timeout, *next);
    if (backing_off(now))
      timeout = std::min(timeout, std::chrono::ceil<milliseconds>(*backoff_until_ - now));
  }
  return static_cast<int>(timeout.count());
}

void EventLoop::run() {
  std::vector<epoll_event> events(kMaxEvents);
  auto last_tick = std::chrono::steady_clock::now();
  while (!stop_now_) {
    int timeout = next_timeout(std::chrono::steady_clock::now(), last_tick);
    int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("epoll_wait() failed: {} ({})", std::strerror(errno), errno);
      break;
    }
    for (int i = 0; i < n; ++i) {
      std::uint64_t tag = events[i].data.u64;
      if (tag >= kMaxTaggedFd) {
        auto* c = static_cast<Connection*>(events[i].data.ptr);
        if (!evicted_.contains(c)) on_readable(c, events[i].events);
      } else if (static_cast<int>(tag) == listen_fd_) {
        accept_all();
      } else if (static_cast<int>(tag) == status_fd_) {
        accept_status();
      } else if (static_cast<int>(tag) == wakeup_.get()) {
        std::uint64_t value;
        [[maybe_unused]] auto r = ::read(wakeup_.get(), &value, sizeof(value));
      } else if (handoff_.valid() && static_cast<int>(tag) == handoff_.receive) {
        if (!graceful_ && !stop_now_) receive_handed();
      } else if (watched_.contains(static_cast<int>(tag))) {
        host_.readable(static_cast<int>(tag));
      }
    }
    evicted_.clear();
    // After the turn: a connection closed here may have had an event in it.
    auto now = std::chrono::steady_clock::now();
    enforce_head_rules(now);
    admission_.tick(now);
    run_queue(now);
    update_listening();
    accept_overflow(now);

    if (now - last_tick >= kTick) {
      last_tick = now;
      for (const std::string& line : slow_log_.flush(now)) spdlog::warn("{}", line);
      host_.tick();
    }
    if (graceful_) {
      if (!graceful_since_) graceful_since_ = now;
      // A stopping child takes no connection handed over by others.
      set_polled(handoff_.receive, false, handoff_polled_, "the reload handoff socket");
      std::lock_guard lock(mutex_);
      update_listening();
      close_idle_locked();
      if (connections_.empty()) break;
    }
  }
  std::lock_guard lock(mutex_);
  if (!stop_now_) close_idle_locked();
  if (handed_over_ > 0)
    spdlog::info("child {} handed {} kept connection(s) over to the next generation", ::getpid(),
                 handed_over_);
}

EventLoop::PeekedHead EventLoop::peek_head(Connection* c) const {
  static thread_local std::vector<unsigned char> buf;
  buf.resize(options_.limits.max_head_bytes);
  ssize_t n = ::recv(c->fd.get(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    return {PeekedHead::State::gone, {}};
  if (n < 0) return {PeekedHead::State::nothing, {}};
  return {PeekedHead::State::bytes,
          screen_request_head(buf.data(), static_cast<std::size_t>(n), options_.limits)};
}

void EventLoop::on_readable(Connection* c, std::uint32_t events) {
  if (c->lingering) return drain_lingering(c);
  PeekedHead head = peek_head(c);
  if (head.state == PeekedHead::State::gone) {
    close_connection(c);  // the peer closed an idle connection, or it broke
    return;
  }
  if (head.state == PeekedHead::State::nothing) {
    if (!c->edge_armed && !rearm(c)) heads_.done(c);  // only the key is used
    return;
  }
  const ScreenResult& verdict = head.screen;
  switch (verdict.verdict) {
    case Verdict::complete:
      head_complete(c);
      admission_.head_arrived(c->admission);
      c->state = Connection::State::working;
      if (c->admission.kind() == Kind::status_only) {
        // Answered here, so the whole request must be in: a status probe
        // sends no body.
        if (verdict.stdin_complete)
          host_.serve_inline(c);
        else
          close_connection(c);
      } else if (verdict.stdin_complete && host_.is_inline(verdict.script_name)) {
        host_.serve_inline(c);
      } else {
        admit_request(c, verdict);
      }
      return;
    case Verdict::need_more:
      await_rest_of_head(c, events);
      return;
    case Verdict::management: {
      // Consume the record (its bytes are in the socket) and answer it.
      std::vector<char> sink(verdict.consumed);
      if (::recv(c->fd.get(), sink.data(), sink.size(), MSG_DONTWAIT) !=
          static_cast<ssize_t>(sink.size())) {
        close_connection(c);
        return;
      }
      std::string reply = get_values_result(verdict.names, options_.max_conns, options_.max_reqs);
      if (::send(c->fd.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
          static_cast<ssize_t>(reply.size())) {
        close_connection(c);
        return;
      }
      // Whatever follows (a request, more to come, or EOF) is looked at on
      // the next turn (level-triggered), so a flood of such records cannot
      // monopolise the loop; the head timeout bounds the whole exchange.
      heads_.partial(c, counts_in_cap(c), std::chrono::steady_clock::now());
      c->edge_armed = false;
      if (!rearm(c)) heads_.done(c);  // only the key is used: c is gone
      return;
    }
    case Verdict::invalid:
      spdlog::warn("closing FastCGI connection from {}: {}", ClientFilter::peer_text(c->peer),
                   verdict.reason);
      close_connection(c);
      return;
  }
}

bool EventLoop::rearm(Connection* c) {
  std::unique_lock lock(mutex_);
  // Stopping for a reload, it waits in the loop to be handed over
  // (close_idle_locked), woken below.
  if (stop_now_ || (graceful_ && !hands_over())) {
    connections_.erase(c);
    lock.unlock();
    wake();
    return false;
  }
  c->state = Connection::State::armed;
  c->idle_since = std::chrono::steady_clock::now();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP;
  ev.data.ptr = c;
  int fd = c->fd.get();
  // head_complete() took an edge-armed connection out of the set.
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0 &&
      (errno != ENOENT || ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)) {
    spdlog::warn("epoll_ctl(MOD) failed: {} ({}), closing the connection", std::strerror(errno),
                 errno);
    connections_.erase(c);
    return false;
  }
  if (graceful_) wake();
  return true;
}

void EventLoop::release(Connection* c) {
  {
    std::lock_guard lock(mutex_);
    connections_.erase(c);
  }
  if (graceful_) wake();
}

void EventLoop::close_connection(Connection* c) {
  heads_.done(c);
  admission_.closed(c->admission);
  std::lock_guard lock(mutex_);
  connections_.erase(c);  // closing the fd also removes it from the epoll set
}

// On a graceful stop: closes the connections that wait in the loop and are
// not worth waiting for (worth_waiting_for, event_loop_slow).
void EventLoop::close_idle_locked() {
  if (!stop_now_ && hands_over()) hand_over_idle_locked();
  auto now = std::chrono::steady_clock::now();
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection* c = it->first;
    bool idle = c->state == Connection::State::armed;
    if (idle && !stop_now_) idle = !worth_waiting_for(c, now);
    if (idle) {
      admission_.closed(c->admission);
      heads_.done(c);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

// Stopping for a reload: each idle kept connection goes to the next
// generation, its request bytes (if nginx already sent some) still in the
// socket, so nginx's next request on it is answered whatever the moment it
// writes it. Left here: a fresh connection (its first request is expected
// at once), a pm.status_listen one, a whole head (served here, then handed
// over after the answer), a broken one (closed). What cannot be sent now
// (the next generation's queue is full, or it is not up yet) is tried again
// on the next turn, for up to the drain time (worth_waiting_for).
void EventLoop::hand_over_idle_locked() {
  std::vector<Connection*> ready;
  for (auto& [c, owned] : connections_) {
    if (c->state != Connection::State::armed || c->requests.load() == 0 ||
        c->admission.kind() == Kind::status_only)
      continue;
    PeekedHead head = peek_head(c);
    if (head.state == PeekedHead::State::gone) continue;
    if (head.state == PeekedHead::State::bytes && head.screen.verdict != Verdict::need_more)
      continue;
    ready.push_back(c);
  }
  for (std::size_t at = 0; at < ready.size(); at += kHandoffBatch) {
    std::vector<Connection*> batch(
        ready.begin() + static_cast<std::ptrdiff_t>(at),
        ready.begin() + static_cast<std::ptrdiff_t>(std::min(ready.size(), at + kHandoffBatch)));
    std::vector<int> fds;
    for (Connection* c : batch) fds.push_back(c->fd.get());
    if (!send_connections(handoff_.send, fds)) {
      if (!handoff_failed_logged_) {
        handoff_failed_logged_ = true;
        spdlog::debug("cannot hand kept connections over yet: {} ({}), trying again",
                      std::strerror(errno), errno);
      }
      return;
    }
    for (Connection* c : batch) {
      // The receiver holds the same socket: closing our descriptor would
      // not take it out of this epoll set.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
      admission_.closed(c->admission);
      heads_.done(c);
      connections_.erase(c);
    }
    handed_over_ += batch.size();
  }
}

void EventLoop::receive_handed() {
  auto now = std::chrono::steady_clock::now();
  // Bounded per turn, so the handoff cannot monopolise the loop.
  for (int i = 0; i < 16; ++i) {
    bool more = false;
    for (int fd : receive_connections(handoff_.receive, more)) adopt_handed(fd, now);
    if (!more) return;
  }
}

// A handed connection waits here as after an answer (rearm): armed, kept,
// no place held in admission; its request, already in the socket or still
// to come, is read by the epoll event as any other.
void EventLoop::adopt_handed(int fd, TimePoint now) {
  auto connection = std::make_unique<Connection>();
  connection->fd.reset(fd);
  socklen_t len = sizeof(connection->peer);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&connection->peer), &len) != 0) return;
  connection->accepted_at = now;
  connection->idle_since = now;
  connection->requests.store(1);
  connection->state = Connection::State::armed;
  register_connection(std::move(connection), "a handed connection");
}

}  // namespace cppfpm::server
