// The accepting half of the event loop: which listening socket is in the
// epoll set, reservations of fresh connections, the saturated case
// (on_overflow) and pm.status_listen.
#include "server/fastcgi/event_loop.h"

#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace cppfpm::server {
namespace {

constexpr int kMaxAcceptsPerTurn = 64;
constexpr auto kReservation = std::chrono::milliseconds(100);
// How long the backlog must stay non-empty, with every thread busy, before
// a saturated child takes a connection anyway. Long enough that a child
// freeing a thread (or one the pm spawns) takes a burst from the backlog
// first; short enough for a monitoring probe.
constexpr auto kOverflowDelay = std::chrono::milliseconds(200);

void set_socket_timeouts(int fd) {
  // A worker reads the body and writes the answer with blocking calls; these
  // bound how long a stalled peer can hold it.
  timeval rcv{10, 0};
  timeval snd{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

}  // namespace

void EventLoop::add_status_listener(int fd, Dispatch serve) {
  status_fd_ = fd;
  serve_status_ = std::move(serve);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    spdlog::error("epoll_ctl(pm.status_listen) failed: {}", std::strerror(errno));
}

// A reservation lasts kReservation: nginx sends its request right after
// connecting, so a connection silent for longer (or trickling its head) no
// longer holds a thread's place and cannot starve the child.
void EventLoop::expire_reservations() {
  if (reservations_.empty()) return;
  auto now = std::chrono::steady_clock::now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (now - (*it)->accepted_at >= kReservation) {
      (*it)->reserved = false;
      reserved_.fetch_sub(1, std::memory_order_relaxed);
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

// The connection waits for a place no more: its reservation ends, and so
// does its count as waiting when it was taken while saturated.
void EventLoop::unreserve(Connection* c) {
  drop_overflow(c);
  if (!c->reserved) return;
  c->reserved = false;
  reserved_.fetch_sub(1, std::memory_order_relaxed);
  reservations_.erase(std::remove(reservations_.begin(), reservations_.end(), c), reservations_.end());
}

void EventLoop::resume_accepting() {
  if (paused_.load(std::memory_order_relaxed)) wake();
}

// Adds or removes the listening socket to match capacity and state.
void EventLoop::update_listening() {
  if (status_fd_ >= 0 && (graceful_ || stop_now_)) {
    // A finishing child takes no new status connection (the others do);
    // left in the set, a waiting one would wake this loop without end.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, status_fd_, nullptr);
    status_fd_ = -1;
  }
  bool want = !graceful_ && !stop_now_ && (!has_room_ || has_room_());
  if (want == listening_) return;
  if (want) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = static_cast<std::uint64_t>(listen_fd_);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return;
  } else {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  }
  listening_ = want;
  paused_ = !want;
}

void EventLoop::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerTurn; ++i) {
    if (has_room_ && !has_room_()) {
      update_listening();
      return;
    }
    if (!accept_one(listen_fd_, Accepted::pool)) return;
  }
}

// Every thread busy, the listening socket out of the epoll set: polls the
// backlog and takes one connection once it has stayed non-empty for
// kOverflowDelay (see on_overflow). One at a time: not again while a
// connection taken this way still holds its reservation.
void EventLoop::accept_overflow() {
  bool eligible = !listening_ && !graceful_ && !stop_now_ && may_overflow_ &&
                  reserved_.load(std::memory_order_relaxed) == 0 && may_overflow_();
  pollfd backlog{listen_fd_, POLLIN, 0};
  if (!eligible || ::poll(&backlog, 1, 0) != 1 || !(backlog.revents & POLLIN)) {
    backlog_since_.reset();
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!backlog_since_) {
    backlog_since_ = now;
    return;
  }
  if (now - *backlog_since_ < kOverflowDelay) return;
  backlog_since_.reset();
  accept_one(listen_fd_, Accepted::overflow);
}

void EventLoop::accept_status() {
  for (int i = 0; i < kMaxAcceptsPerTurn && !graceful_; ++i)
    if (!accept_one(status_fd_, Accepted::status_only)) return;
}

void EventLoop::drop_overflow(Connection* c) {
  if (!c->overflow) return;
  c->overflow = false;
  if (waiting_) waiting_(-1);
}

bool EventLoop::accept_one(int listen_fd, Accepted kind) {
  auto connection = std::make_unique<Connection>();
  socklen_t len = sizeof(connection->peer);
  int fd = -1;
  do {
    fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&connection->peer), &len, SOCK_CLOEXEC);
  } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (fd < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("accept4() failed: {} ({})", std::strerror(errno), errno);
    return false;
  }
  connection->fd.reset(fd);
  connection->accepted_at = std::chrono::steady_clock::now();
  if (!filter_.allows(connection->peer)) {
    spdlog::warn("Connection disallowed: IP address '{}' has been dropped (listen.allowed_clients)",
                 ClientFilter::peer_text(connection->peer));
    return true;
  }
  if (kind == Accepted::status_only) {
    // Counted apart from the pool, holding no place in its capacity.
    connection->status_only = true;
  } else {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    connection->reserved = true;
    reserved_.fetch_add(1, std::memory_order_relaxed);
    reservations_.push_back(connection.get());
    if (kind == Accepted::overflow) {
      connection->overflow = true;
      if (waiting_) waiting_(+1);
    }
    if (on_accept_) on_accept_();
  }
  set_socket_timeouts(fd);
  Connection* raw = connection.get();
  {
    std::lock_guard lock(mutex_);
    connections_.emplace(raw, std::move(connection));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = raw;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    spdlog::error("epoll_ctl(ADD) failed: {}", std::strerror(errno));
    close_connection(raw);
  }
  return true;
}

}  // namespace cppfpm::server
